"""A fake SMTP server (aiosmtpd on the test's event loop) for e-mail pages: it records every
message it takes, checks what the client sends, and fails the way mail servers do.

Faults, as RFC 5321 and real servers give them:
- `go_down()` / `come_back()`: the port refuses connections (nothing listens);
- `fail_next(stage, code)`: the next EHLO, MAIL, RCPT or DATA is answered `code` (421 closes
  the connection after the answer, as RFC 5321 section 3.8 says a server does; 451/452 leave
  it open; 550/554 are permanent);
- `reject(address)`: every RCPT TO that address is answered 550 (an unknown mailbox);
- `drop_after_data()`: the message is taken (and recorded: a real server would deliver it),
  then the connection closes before the 250 is sent. The client cannot know whether it went:
  the ambiguous case;
- `hang_next(stage)`: the command is never answered (the client's timeout).

`violations` lists what the client got wrong (tests assert it stays empty): a message without
exactly one From, To, Subject, Date and Message-ID, a Bcc header transmitted, an envelope
recipient missing from To, MAIL FROM other than From's address, bare CR or LF, 8-bit data
without BODY=8BITMIME, raw non-ASCII headers, a malformed Message-ID.

Imports nothing of the bot (the sandbox contract).
"""

from __future__ import annotations

import asyncio
import email.policy
import logging
import re
import warnings
from collections import deque
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from typing import Any, cast

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

__all__ = ["FakeSmtp", "Received"]

STAGES = ("EHLO", "MAIL", "RCPT", "DATA")
_TEXTS = {
    421: "4.3.2 Service not available, closing transmission channel",
    450: "4.2.1 Mailbox busy, try again later",
    451: "4.3.0 Requested action aborted: local error in processing",
    452: "4.3.1 Insufficient system storage",
    550: "5.1.1 Requested action not taken: mailbox unavailable",
    552: "5.3.4 Message size exceeds fixed maximum message size",
    554: "5.7.1 Transaction failed",
}
_MESSAGE_ID = re.compile(r"<[^<>@\s]+@[^<>@\s]+>")
_BARE = re.compile(rb"\r(?!\n)|(?<!\r)\n")
_ONCE = ("From", "To", "Subject", "Date", "Message-ID")


@dataclass(frozen=True)
class Received:
    """A message the server took (a dropped answer included: it was taken all the same)."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    message: EmailMessage
    connection: int  # which connection brought it (1, 2, ...)
    answered: bool  # False: the connection was dropped before the 250

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    @property
    def body(self) -> str:
        part = self.message.get_body(("plain",))
        return cast(EmailMessage, part).get_content() if part is not None else ""


@dataclass
class _Fault:
    kind: str  # "fail" | "hang" | "drop"
    stage: str
    code: int = 451
    text: str = ""
    address: str | None = None  # RCPT only: just this recipient


@dataclass
class _Handler:
    fake: FakeSmtp
    connection: int = 0

    async def handle_EHLO(  # noqa: N802 - aiosmtpd's hook names
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        answer = await self.fake._fault(server, "EHLO", None)
        if answer is not None:
            return [answer]
        session.host_name = hostname
        return responses

    async def handle_MAIL(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        answer = await self.fake._fault(server, "MAIL", address)
        if answer is not None:
            return answer
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        answer = await self.fake._fault(server, "RCPT", address)
        if answer is not None:
            return answer
        if address.lower() in self.fake.rejected:
            code = self.fake.rejected[address.lower()]
            self.fake.refusals.append(("RCPT", address, code))
            return f"{code} {_TEXTS.get(code, '5.1.1 Mailbox unavailable')}"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        answer = await self.fake._fault(server, "DATA", None)
        if answer is not None:
            return answer
        raw = bytes(envelope.original_content or b"")
        drop = self.fake._take("drop", "DATA", None) is not None
        self.fake._check(envelope, raw)
        message = BytesParser(policy=email.policy.default).parsebytes(raw)
        self.fake.messages.append(
            Received(
                mail_from=str(envelope.mail_from or ""),
                rcpt_tos=tuple(envelope.rcpt_tos),
                raw=raw,
                message=message,
                connection=self.connection,
                answered=not drop,
            )
        )
        if drop:
            _close(server)  # taken, but the 250 never leaves
        return "250 2.0.0 OK: queued"


def _close(server: SMTP) -> None:
    if server.transport is not None:
        server.transport.close()


class FakeSmtp:
    def __init__(
        self,
        *,
        username: str | None = None,
        password: str | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.host = host
        self.port = 0
        self.username = username
        self.password = password
        self.messages: list[Received] = []
        self.refusals: list[tuple[str, str, int]] = []  # (stage, address, code) answered
        self.violations: list[str] = []
        self.connections = 0
        self.rejected: dict[str, int] = {}
        self._faults: deque[_Fault] = deque()
        self._server: asyncio.Server | None = None
        self._open: set[SMTP] = set()

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        # aiosmtpd logs its own deprecations and every session at INFO and WARNING: noise here.
        logging.getLogger("mail.log").setLevel(logging.ERROR)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        await self.go_down()
        for server in list(self._open):
            if isinstance(server.transport, asyncio.Transport):
                server.transport.abort()
        self._open.clear()

    async def go_down(self) -> None:
        """Nothing listens on the port any more: connections are refused."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()

    async def come_back(self) -> None:
        if self._server is None:
            await self.start()

    def _protocol(self) -> SMTP:
        self.connections += 1
        handler = _Handler(self, self.connections)
        auth: dict[str, Any] = {}
        if self.username is not None:
            auth = {
                "auth_required": True,
                "auth_require_tls": False,
                "authenticator": self._authenticate,
            }
        with warnings.catch_warnings():
            # AUTH without TLS: the fake listens on loopback only.
            warnings.simplefilter("ignore", UserWarning)
            server = SMTP(
                handler,
                hostname="fake-smtp.test",
                loop=asyncio.get_running_loop(),
                **auth,
            )
        self._open.add(server)
        return server

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == self.username
            and data.password.decode() == self.password
        )
        return AuthResult(success=ok, handled=False)

    # --- faults ---------------------------------------------------------------------------

    def fail_next(
        self,
        stage: str,
        code: int,
        *,
        times: int = 1,
        address: str | None = None,
        text: str | None = None,
    ) -> None:
        """Answer the next `times` `stage` commands (of `address`, for RCPT) with `code`."""
        stage = stage.upper()
        if stage not in STAGES:
            raise ValueError(f"stage must be one of {STAGES}")
        said = text or _TEXTS.get(code, "Requested action not taken")
        self._faults.extend(_Fault("fail", stage, code, said, address) for _ in range(times))

    def reject(self, address: str, code: int = 550) -> None:
        """Every RCPT TO `address` is refused for good."""
        self.rejected[address.lower()] = code

    def drop_after_data(self, *, times: int = 1) -> None:
        """Take the next message, then close the connection instead of answering 250."""
        self._faults.extend(_Fault("drop", "DATA") for _ in range(times))

    def hang_next(self, stage: str, *, times: int = 1) -> None:
        """Never answer the next `stage` command: the client times out."""
        self._faults.extend(_Fault("hang", stage.upper()) for _ in range(times))

    def to(self, address: str) -> list[Received]:
        """The messages taken for `address`."""
        return [m for m in self.messages if address.lower() in (r.lower() for r in m.rcpt_tos)]

    def _take(self, kind: str, stage: str, address: str | None) -> _Fault | None:
        for fault in self._faults:
            mine = fault.address is None or (address or "").lower() == fault.address.lower()
            if fault.kind == kind and fault.stage == stage and mine:
                self._faults.remove(fault)
                return fault
        return None

    async def _fault(self, server: SMTP, stage: str, address: str | None) -> str | None:
        """The answer of an injected failure at `stage`, if one is due (a hang never returns)."""
        if self._take("hang", stage, address) is not None:
            await asyncio.Event().wait()  # cancelled when the client gives up and disconnects
        fault = self._take("fail", stage, address)
        if fault is None:
            return None
        self.refusals.append((stage, address or "", fault.code))
        if fault.code == 421:
            # The answer goes out first; then the server closes the channel.
            asyncio.get_running_loop().call_soon(_close, server)
        return f"{fault.code} {fault.text}"

    # --- the client's contract ------------------------------------------------------------

    def _check(self, envelope: Envelope, raw: bytes) -> None:
        where = f"message to {', '.join(envelope.rcpt_tos)}"
        head = raw.split(b"\r\n\r\n", 1)[0]
        if _BARE.search(raw):
            self.violations.append(f"{where}: bare CR or LF (RFC 5322 section 2.3)")
        if any(b > 0x7F for b in raw) and not any(
            o.upper() == "BODY=8BITMIME" for o in envelope.mail_options
        ):
            self.violations.append(f"{where}: 8-bit data without BODY=8BITMIME (RFC 6152)")
        if any(b > 0x7F for b in head):
            self.violations.append(f"{where}: raw non-ASCII header (encode it, RFC 2047)")
        message = BytesParser(policy=email.policy.compat32).parsebytes(raw, headersonly=True)
        for name in _ONCE:
            count = len(message.get_all(name) or [])
            if count != 1:
                self.violations.append(f"{where}: {count} {name} headers, not 1 (RFC 5322 3.6)")
        if message.get_all("Bcc"):
            self.violations.append(f"{where}: a Bcc header was transmitted")
        message_id = str(message.get("Message-ID", "")).strip()
        if message_id and not _MESSAGE_ID.fullmatch(message_id):
            self.violations.append(f"{where}: malformed Message-ID {message_id!r}")
        self._check_addresses(where, envelope, message)
        try:
            parsedate_to_datetime(str(message.get("Date", "")))
        except (TypeError, ValueError):
            self.violations.append(f"{where}: unreadable Date {message.get('Date')!r}")

    def _check_addresses(self, where: str, envelope: Envelope, message: Any) -> None:
        listed = {a.lower() for _, a in getaddresses(message.get_all("To") or [])}
        for rcpt in envelope.rcpt_tos:
            if rcpt.lower() not in listed:
                self.violations.append(f"{where}: envelope recipient {rcpt} is not in To")
        sender = parseaddr(str(message.get("From", "")))[1]
        if sender.lower() != str(envelope.mail_from or "").lower():
            self.violations.append(
                f"{where}: MAIL FROM {envelope.mail_from} is not From's address {sender}"
            )
