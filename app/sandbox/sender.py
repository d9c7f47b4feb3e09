"""Slack's requests to the bot, signed with the signing secret and posted to /slack/events.

The bodies come from `app.sandbox.builders`, which builds them from what the bot did in the
fake Slack (the message it posted, the view it opened), in the shapes Slack publishes.
`post` and `interaction` stay available for tests that send bodies Slack would never send
(forged, malformed) on purpose.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

from app.sandbox import builders as build
from app.sandbox.fakeslack import FakeSlack, blockkit
from app.sandbox.fakeslack.methods import views

FORM = "application/x-www-form-urlencoded"


class SlackSender:
    """Plays Slack's side: posts what Slack would post, signature and headers included."""

    def __init__(self, base_url: str, signing_secret: str, fake: FakeSlack) -> None:
        self.url = base_url.rstrip("/") + "/slack/events"
        self.verifier = SignatureVerifier(signing_secret)
        self.fake = fake
        self.http = httpx.AsyncClient(timeout=10)
        # What people have entered in each open modal so far (view id -> block id -> answer),
        # so that a later action or the submission carries the whole state, as Slack's does.
        self.entered: dict[str, dict[str, Any]] = {}

    async def close(self) -> None:
        await self.http.aclose()

    def signed_headers(
        self, body: str, *, timestamp: int | None = None, content_type: str
    ) -> dict[str, str]:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        return {
            "content-type": content_type,
            "x-slack-request-timestamp": ts,
            "x-slack-signature": self.verifier.generate_signature(timestamp=ts, body=body) or "",
        }

    async def post(
        self,
        body: str,
        content_type: str,
        *,
        headers: dict[str, str] | None = None,
        timestamp: int | None = None,
    ) -> httpx.Response:
        sent = self.signed_headers(body, timestamp=timestamp, content_type=content_type)
        sent.update(headers or {})
        return await self.http.post(self.url, content=body.encode(), headers=sent)

    # --- slash commands ---------------------------------------------------------------------

    async def command(
        self,
        text: str,
        *,
        user: str = "UREPORTER",
        channel: str = "CGENERAL",
        trigger_id: str | None = None,
    ) -> httpx.Response:
        """`/incident <text>` typed by `user` in `channel`; mentions escaped as Slack does."""
        fields = build.slash_command(
            self.fake, text, user_id=user, channel_id=channel, trigger_id=trigger_id
        )
        return await self.post(urlencode(fields), FORM)

    # --- interactions -----------------------------------------------------------------------

    async def interaction(self, payload: dict[str, Any]) -> httpx.Response:
        """Post an interaction payload as it is (for bodies Slack would never send)."""
        return await self.post(urlencode({"payload": json.dumps(payload)}), FORM)

    async def click(
        self,
        message: Mapping[str, Any],
        name: str,
        *,
        user: str = "UREPORTER",
        selected: Any = None,
        block_id: str | None = None,
        near: str | None = None,
    ) -> httpx.Response:
        """Use element `name` (action id, or a button's label) of a message the bot posted.

        `selected` is what a checkbox, select or overflow now holds (option values); `near`
        picks among equal buttons by the text of their block."""
        payload = build.block_actions_on_message(
            self.fake, message, name, user_id=user, selected=selected, block_id=block_id, near=near
        )
        return await self.interaction(payload)

    async def change(
        self,
        view: Mapping[str, Any],
        block_id: str,
        answer: Any,
        *,
        user: str = "UREPORTER",
    ) -> httpx.Response:
        """A person changes an element of an open modal that dispatches actions."""
        entered = self.entered.setdefault(str(view["id"]), {})
        entered[block_id] = answer
        block = next(
            b
            for b in build.current_view(self.fake, view)["blocks"]
            if b.get("block_id") == block_id
        )
        element = block.get("element") or block.get("accessory") or {}
        payload = build.block_actions_in_view(
            self.fake,
            view,
            str(element.get("action_id")),
            user_id=user,
            answers=entered,
            block_id=block_id,
        )
        return await self.interaction(payload)

    async def submit(
        self,
        view: Mapping[str, Any],
        answers: Mapping[str, Any] | None = None,
        *,
        user: str = "UREPORTER",
    ) -> httpx.Response:
        """Press the submit button of a modal the bot opened, with `answers` (block id ->
        text, option value(s) or user id) entered on top of what was entered before."""
        entered = {**self.entered.get(str(view["id"]), {}), **(answers or {})}
        payload = build.view_submission(self.fake, view, entered, user_id=user)
        response = await self.interaction(payload)
        self._follow_response_action(view, response)
        return response

    def _follow_response_action(self, view: Mapping[str, Any], response: httpx.Response) -> None:
        """Do what Slack does with the submission's answer: `update` replaces the view (same
        id, new hash, fields start empty), `clear` closes it; `errors` keeps it open."""
        if response.status_code != 200 or not response.content.startswith(b"{"):
            self.entered.pop(str(view["id"]), None)
            return
        answer = response.json()
        if answer.get("response_action") == "update":
            self._replace_view(view, answer["view"])
            self.entered.pop(str(view["id"]), None)
        elif answer.get("response_action") != "errors":
            self.entered.pop(str(view["id"]), None)

    def _replace_view(self, view: Mapping[str, Any], new: dict[str, Any]) -> None:
        """A view a submission answered with `response_action: update`, checked like a
        views.update and stored under the same id."""
        problems = blockkit.view_problems(new, ("modal",))
        assert not problems, f"Slack would refuse the updated view: {problems}"
        current = self.fake.views[str(view["id"])]
        views._store(
            self.fake.state,
            new,
            current["id"],
            current["root_view_id"],
            current["previous_view_id"],
        )

    async def dismiss(self, view: Mapping[str, Any], *, user: str = "UREPORTER") -> httpx.Response:
        """Close a modal with its Cancel button (Slack's `view_closed`)."""
        return await self.interaction(build.view_closed(self.fake, view, user_id=user))

    # --- Events API -------------------------------------------------------------------------

    async def event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry_num: int | None = None
    ) -> httpx.Response:
        """Deliver an Events API callback in Slack's envelope; `retry_num` marks a redelivery."""
        body = json.dumps(build.event_callback(event, event_id=event_id))
        headers = {}
        if retry_num is not None:
            headers = {"x-slack-retry-num": str(retry_num), "x-slack-retry-reason": "http_timeout"}
        return await self.post(body, "application/json", headers=headers)


def modal_values(
    *,
    title: str = "",
    description: str = "",
    impacts: dict[str, list[str]] | None = None,
    severity: str | None = None,
    visibility: str | None = None,
    incident_type: str | None = None,
) -> dict[str, Any]:
    """What a person enters in the declare modal (block id -> answer) before pressing Declare;
    fields left as None stay untouched."""
    answers: dict[str, Any] = {"title": title, "description": description or None}
    for key, value in (("severity", severity), ("visibility", visibility)):
        if value is not None:
            answers[key] = value
    if incident_type is not None:
        answers["incident_type"] = incident_type
    for sev, keys in (impacts or {}).items():
        answers[f"impacts_{sev}"] = keys
    return answers
