"""FakeTwilio's phone side: the person on the other end of a page.

`reply(from_number, body)` is a text arriving at the account's number: Twilio posts its
inbound-message webhook to the number's configured SMS URL, signed (X-Twilio-Signature: base64
HMAC-SHA1, keyed with the auth token, of that URL followed by the sorted form parameters), and
sends each <Message> of the TwiML answer back to the person. `answer_call(sid, digits)` is the
callee picking up: Twilio fetches the call's Url (signed, the call's parameters), speaks its
<Say>s, and with `digits` posts them (`Digits`) to the <Gather>'s action and speaks the answer.

The URLs Twilio signs are the public ones it was given; `route(public, actual)` says where such
an address really is (the bot on 127.0.0.1), as DNS and a proxy would in production. TwiML is
read strictly: a document that does not parse, a verb the fake does not play, an unknown
attribute or a bad `numDigits` is a violation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urljoin

import aiohttp

from .twilio_state import API, Call, Message, new_sid

VOICE_VERBS = {
    "Say": {"voice", "language", "loop"},
    "Play": {"loop", "digits"},
    "Pause": {"length"},
    "Hangup": set(),
    "Reject": {"reason"},
    "Redirect": {"method"},
    "Gather": {
        "action",
        "method",
        "timeout",
        "numDigits",
        "finishOnKey",
        "input",
        "actionOnEmptyResult",
        "language",
        "hints",
        "speechTimeout",
        "profanityFilter",
        "speechModel",
        "enhanced",
        "partialResultCallback",
    },
}
GATHER_NESTS = {"Say", "Play", "Pause"}
MESSAGING_VERBS = {
    "Message": {"to", "from", "action", "method", "statusCallback"},
    "Redirect": {"method"},
}
TWIML_TYPES = ("text/xml", "application/xml")


def sign(auth_token: str, url: str, params: dict[str, str]) -> str:
    text = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(
        hmac.new(auth_token.encode(), text.encode(), hashlib.sha1).digest()
    ).decode()


@dataclass
class Delivery:
    """What came of a text sent to the account's number."""

    status: int  # the bot's HTTP status
    replies: list[str] = field(default_factory=list)  # SMS the bot's TwiML sent back


@dataclass
class CallSession:
    """What the callee heard."""

    status: int  # the bot's HTTP status for the call's TwiML
    said: list[str] = field(default_factory=list)
    gathered: bool = False  # the call listened for keys
    answer_status: int | None = None  # the bot's status for the digits posted
    answer: list[str] = field(default_factory=list)  # what was said after the digits


class Phone:
    """A mixin of FakeTwilio: it holds the account, its records and `violations`."""

    account_sid: str
    auth_token: str
    number: str
    messages: list[Message]
    calls: list[Call]
    violations: list[str]
    clock: Callable[[], datetime]

    def __init__(self) -> None:
        self.sms_url: str | None = None
        self.webhook_statuses: list[tuple[str, int]] = []
        self._routes: dict[str, str] = {}
        self._session: aiohttp.ClientSession | None = None

    def configure_number(self, *, sms_url: str) -> None:
        """The number's "A message comes in" webhook (a public URL, POST)."""
        self.sms_url = sms_url

    def route(self, public_base: str, actual_base: str) -> None:
        self._routes[public_base.rstrip("/")] = actual_base.rstrip("/")

    async def close_phone(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _post(
        self, url: str, params: dict[str, str], auth_token: str | None
    ) -> tuple[int, str, str]:
        """POST a signed webhook to public `url`: (status, content type, body)."""
        actual = next(
            (
                real + url[len(public) :]
                for public, real in self._routes.items()
                if url.startswith(public)
            ),
            None,
        )
        if actual is None:
            self.violations.append(f"no route to {url}: the fake cannot reach it")
            return 0, "", ""
        headers = {
            "X-Twilio-Signature": sign(auth_token or self.auth_token, url, params),
            "User-Agent": "TwilioProxy/1.1",
            "I-Twilio-Idempotency-Token": new_sid(""),
        }
        if self._session is None:
            self._session = aiohttp.ClientSession()
        async with self._session.post(actual, data=params, headers=headers) as response:
            text = await response.text()
            self.webhook_statuses.append((url, response.status))
            return response.status, response.content_type, text

    # --- SMS ---------------------------------------------------------------------------------

    async def reply(
        self, from_number: str, body: str, *, auth_token: str | None = None
    ) -> Delivery:
        """A text from `from_number` to the account's number; `auth_token` signs it with another
        token (a forged request)."""
        if self.sms_url is None:
            raise RuntimeError("configure_number(sms_url=...) first")
        inbound = Message(
            self.account_sid,
            self.number,
            from_number,
            body,
            "inbound",
            self.clock(),
            status="received",
            date_sent=self.clock(),
        )
        self.messages.append(inbound)
        params = {
            "ToCountry": "US",
            "ToState": "CA",
            "SmsMessageSid": inbound.sid,
            "NumMedia": "0",
            "ToCity": "",
            "FromZip": "",
            "SmsSid": inbound.sid,
            "FromState": "",
            "SmsStatus": "received",
            "FromCity": "",
            "Body": body,
            "FromCountry": "US",
            "To": self.number,
            "ToZip": "",
            "NumSegments": "1",
            "MessageSid": inbound.sid,
            "AccountSid": self.account_sid,
            "From": from_number,
            "ApiVersion": API,
        }
        status, content_type, text = await self._post(self.sms_url, params, auth_token)
        delivery = Delivery(status)
        if status != 200:
            return delivery
        root = self._twiml(text, content_type, MESSAGING_VERBS, "SMS reply")
        for verb in [] if root is None else list(root):
            if verb.tag == "Message":
                words = "".join(verb.itertext()).strip()
                if not words:
                    self.violations.append("an empty <Message>")
                    continue
                to = verb.get("to") or from_number
                self.messages.append(
                    Message(
                        self.account_sid,
                        to,
                        self.number,
                        words,
                        "outbound-reply",
                        self.clock(),
                        status="sent",
                        date_sent=self.clock(),
                    )
                )
                delivery.replies.append(words)
        return delivery

    # --- voice ------------------------------------------------------------------------------

    async def answer_call(self, call_sid: str, digits: str | None = None) -> CallSession:
        """The callee answers call `call_sid` and, with `digits`, presses them."""
        call = next(c for c in self.calls if c.sid == call_sid)
        if call.status not in ("queued", "ringing"):
            raise RuntimeError(f"call {call_sid} is {call.status}")
        call.status, call.start_time = "in-progress", call.start_time or self.clock()
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API,
            "CallSid": call.sid,
            "CallStatus": "in-progress",
            "Called": call.to,
            "Caller": call.from_,
            "Direction": "outbound-api",
            "From": call.from_,
            "To": call.to,
        }
        if call.method != "POST":
            self.violations.append("the fake fetches call TwiML by POST only")
        status, content_type, text = await self._post(call.url, params, None)
        session = CallSession(status)
        root = self._twiml(text, content_type, VOICE_VERBS, "call") if status == 200 else None
        gather = None
        for verb in [] if root is None else list(root):
            session.said += _spoken(verb)
            if verb.tag == "Gather":
                gather = verb
                if digits is not None:
                    break  # keys pressed: the Gather's action answers, the rest is not played
        session.gathered = gather is not None
        if gather is not None and digits is not None:
            action = urljoin(call.url, gather.get("action") or call.url)
            sent = {**params, "Digits": digits, "FinishedOnKey": ""}
            session.answer_status, answer_type, answer = await self._post(action, sent, None)
            reply = (
                self._twiml(answer, answer_type, VOICE_VERBS, "gather answer")
                if session.answer_status == 200
                else None
            )
            for verb in [] if reply is None else list(reply):
                session.answer += _spoken(verb)
        call.status, call.end_time = "completed", self.clock()
        return session

    # --- TwiML --------------------------------------------------------------------------------

    def _twiml(
        self, text: str, content_type: str, verbs: dict[str, set[str]], what: str
    ) -> ET.Element | None:
        if content_type not in TWIML_TYPES:
            self.violations.append(f"{what} TwiML served as {content_type!r}")
        try:
            root = ET.fromstring(text)
        except ET.ParseError as exc:
            self.violations.append(f"{what} TwiML does not parse (Twilio error 12100): {exc}")
            return None
        if root.tag != "Response":
            self.violations.append(f"{what} TwiML root is <{root.tag}>, not <Response>")
            return None
        for verb in root:
            self._check(verb, verbs, what)
            if verb.tag == "Gather":
                self._check_gather(verb, what)
        return root

    def _check(self, element: ET.Element, verbs: dict[str, set[str]], what: str) -> None:
        allowed = verbs.get(element.tag)
        if allowed is None:
            self.violations.append(
                f"{what} TwiML has <{element.tag}>, which the fake does not play"
            )
            return
        unknown = set(element.attrib) - allowed
        if unknown:
            self.violations.append(f"{what} TwiML <{element.tag}> has unknown {sorted(unknown)}")

    def _check_gather(self, gather: ET.Element, what: str) -> None:
        digits = gather.get("numDigits")
        if digits is not None and not (digits.isdigit() and int(digits) > 0):
            self.violations.append(f"{what} <Gather numDigits={digits!r}>")
        if gather.get("method", "POST") not in ("GET", "POST"):
            self.violations.append(f"{what} <Gather method={gather.get('method')!r}>")
        for child in gather:
            if child.tag not in GATHER_NESTS:
                self.violations.append(f"{what} <Gather> nests <{child.tag}>")
            else:
                self._check(child, VOICE_VERBS, what)


def _spoken(verb: ET.Element) -> list[str]:
    if verb.tag == "Say":
        return ["".join(verb.itertext()).strip()]
    if verb.tag == "Gather":
        return ["".join(s.itertext()).strip() for s in verb if s.tag == "Say"]
    return []
