"""Twilio's requests to the bot: an SMS reply to a page, and a page call's words and key press.

    POST /webhooks/twilio/sms                       the number's "A message comes in" webhook
    POST /webhooks/twilio/voice/{step_id}           a page call answered: TwiML to say the
                                                    incident and <Gather> one digit
    POST /webhooks/twilio/voice/{step_id}/gather    the digit pressed (1 acknowledges)

They exist (otherwise 404) when Twilio is set up and PUBLIC_URL is set. Every request must
carry a valid X-Twilio-Signature: Twilio signs the URL it was configured with (the number's
webhook, the call's Url), which behind a proxy is not the URL this process sees, so the URL
checked is PUBLIC_URL + the path (+ the query); a request that does not verify, or names
another account, gets 403 and changes nothing. Answers are TwiML (`app.ui.twiml`); what they
do is `app.services.page_replies`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from app.channels.twilio import signature_matches
from app.config.settings import Settings
from app.context import BotContext
from app.services import page_replies
from app.ui import twiml

log = logging.getLogger(__name__)

Endpoint = Callable[[Request], Awaitable[Response]]
Form = dict[str, list[str]]


def _twiml(document: str) -> Response:
    return Response(document, media_type="application/xml")


def _signed_url(settings: Settings, request: Request) -> str:
    query = request.url.query
    return f"{settings.public_url}{request.url.path}" + (f"?{query}" if query else "")


async def _verified(bot: BotContext, request: Request) -> Form | Response:
    """The request's form fields, or the refusal to answer with."""
    settings = bot.settings
    token, account = settings.twilio_auth_token, settings.twilio_account_sid
    if not (settings.twilio_configured and settings.public_url and token):
        return PlainTextResponse("Not Found", status_code=404)
    raw = await request.body()
    try:
        form = parse_qs(raw.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        form = {}
    given = request.headers.get("x-twilio-signature", "")
    if not signature_matches(token, _signed_url(settings, request), form, given):
        log.warning("Twilio webhook %s refused: bad X-Twilio-Signature", request.url.path[:64])
        return PlainTextResponse("invalid signature", status_code=403)
    if _field(form, "AccountSid") != account:
        log.warning("Twilio webhook %s refused: another account", request.url.path[:64])
        return PlainTextResponse("another account", status_code=403)
    return form


def _field(form: Form, name: str) -> str:
    values = form.get(name) or [""]
    return values[0]


def _spoken(call: page_replies.Call, action: str) -> str:
    if call.listen:
        return twiml.prompt(call.script, action, again=call.again)
    return twiml.say(call.script)


def _step_id(request: Request) -> int:
    return int(request.path_params["step_id"])


def routes(bot: BotContext) -> list[tuple[str, Endpoint]]:
    """(path, endpoint) pairs, all POST."""

    def guarded(handle: Callable[[Request, Form], Awaitable[Response]]) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            form = await _verified(bot, request)
            if isinstance(form, Response):
                return form
            try:
                return await handle(request, form)
            except SQLAlchemyError:
                log.warning("Twilio webhook: the database is unavailable", exc_info=True)
                return PlainTextResponse("database unavailable, retry later", status_code=503)

        return endpoint

    def gather_url(step_id: int) -> str:
        return f"{bot.settings.public_url}/webhooks/twilio/voice/{step_id}/gather"

    async def sms(request: Request, form: Form) -> Response:
        answer = await page_replies.sms_received(bot, _field(form, "From"), _field(form, "Body"))
        return _twiml(twiml.empty() if answer is None else twiml.message(answer))

    async def voice(request: Request, form: Form) -> Response:
        step_id = _step_id(request)
        call = await page_replies.call_answered(bot, step_id)
        return _twiml(_spoken(call, gather_url(step_id)))

    async def gather(request: Request, form: Form) -> Response:
        step_id = _step_id(request)
        call = await page_replies.key_pressed(
            bot, step_id, _field(form, "To"), _field(form, "Digits")
        )
        return _twiml(_spoken(call, gather_url(step_id)))

    return [
        ("/webhooks/twilio/sms", guarded(sms)),
        ("/webhooks/twilio/voice/{step_id:int}", guarded(voice)),
        ("/webhooks/twilio/voice/{step_id:int}/gather", guarded(gather)),
    ]
