"""A fake Slack Web API for the tests and the demo: strict like Slack's reference, inspectable
like a mock.

    fake = FakeSlack(token="xoxb-test")
    await fake.start()
    client = AsyncWebClient(token="xoxb-test", base_url=fake.base_url)
    ...
    assert fake.calls_to("chat.postMessage")[0]["channel"] == channel_id
    await fake.stop()

Layout: ``spec`` reads Slack's reference (required args, scopes, documented errors), ``state``
holds the workspace, ``methods/`` has one module per API family, ``blockkit`` (with ``parts``)
checks the blocks of every message and view as strictly as Slack (slack_sdk's validators plus
Slack's documented limits), ``server`` does HTTP, auth and recording, with ``seeding`` (what a
test puts in the workspace), ``faults`` (injected failures) and ``sockets`` (Socket Mode).
Without the reference folder (an installed package, the demo outside a checkout) the fake
checks no scopes, required arguments, error codes or rate tiers; Block Kit stays as strict.

Extras beyond Slack's API: ``violations`` (the fake's own contract breaches; tests should
assert it is empty), ``responses``/``response_url_base`` (response_url posts from Bolt's
``respond()``), and Socket Mode: with ``app_token`` set, apps.connections.open points at the
fake's websocket, ``socket_send()`` delivers an envelope and ``socket_ack()`` waits for the
bot's answer.
"""

from .server import FakeSlack
from .spec import DEFAULT_SPEC_DIR, GENERIC_ERRORS, SlackSpec
from .state import Call, Channel

__all__ = ["DEFAULT_SPEC_DIR", "GENERIC_ERRORS", "Call", "Channel", "FakeSlack", "SlackSpec"]
