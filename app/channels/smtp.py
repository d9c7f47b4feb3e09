"""SMTP for e-mail pages: one connection per step run, one mail transaction per recipient, and
every failure turned into an `SmtpError` that says whether trying later may help and whether
the message may already have been delivered.

Over aiosmtplib (asyncio, typed, kept up): the stdlib's smtplib would block the event loop
that also sends the Slack pages. No retries here: the caller's durable step retries with a
backoff, and SMTP has no way to ask a server whether it already took a message, so the one
ambiguous case (the connection lost after the message's data was sent) is reported as
`maybe_sent` and the resend carries the same Message-ID (docs/oncall/email.md).

One transaction per recipient, rather than one message to all: each recipient's outcome is
its own (a 550 for one leaves the others sent), and a retry sends to whoever is left.
"""

from __future__ import annotations

import email.policy
import logging
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr
from types import TracebackType

import aiosmtplib

from app.config.settings import Settings

__all__ = [
    "SmtpConfig",
    "SmtpError",
    "SmtpRefused",
    "SmtpSession",
    "SmtpUnavailable",
    "TIMEOUT_SECONDS",
]

log = logging.getLogger(__name__)

# Per SMTP command (connect, EHLO, each of MAIL/RCPT/DATA): a server that holds a page longer
# than this is treated as down, and the step tries again later.
TIMEOUT_SECONDS = 30.0


class SmtpError(Exception):
    """The server could not be used for this message. Not a recipient's refusal: a refused
    sender or login (a setting to fix); the step is retried and, in the end, reported."""

    transient = False
    maybe_sent = False

    def __init__(self, text: str, *, code: int | None = None, reply: str = "") -> None:
        super().__init__(text)
        self.code = code
        self.reply = reply  # the server's answer, on one line (`550 5.1.1 No such user`)


class SmtpRefused(SmtpError):
    """A permanent 5xx for this recipient (unknown mailbox, refused content): not retried."""


class SmtpUnavailable(SmtpError, OSError):
    """Try later: the connection was refused, timed out or lost, or a 4xx answered.

    An OSError, so the step engine counts it as network trouble (a retry with a backoff,
    logged as a warning rather than a crash). `maybe_sent`: the connection was lost after
    the message's data went out, so the server may have taken it.
    """

    transient = True

    def __init__(
        self, text: str, *, code: int | None = None, reply: str = "", maybe_sent: bool = False
    ) -> None:
        super().__init__(text, code=code, reply=reply)
        self.maybe_sent = maybe_sent


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str  # the From header as set (`Incident Bot <bot@example.com>` or an address)
    security: str = "starttls"  # starttls | tls | none
    username: str | None = None
    password: str | None = None
    timeout: float = TIMEOUT_SECONDS

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig:
        """The SMTP_* settings; call only when `settings.email_configured`."""
        if not (settings.smtp_host and settings.smtp_from):
            raise ValueError("SMTP_HOST and SMTP_FROM are not set")
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=settings.smtp_password,
        )

    @property
    def sender_address(self) -> str:
        """The address alone (the envelope's MAIL FROM)."""
        return parseaddr(self.sender)[1] or self.sender

    @property
    def sender_domain(self) -> str:
        """The domain of SMTP_FROM: the right-hand side of the Message-IDs the bot makes."""
        return self.sender_address.rpartition("@")[2].lower() or "localhost"


class SmtpSession:
    """One connection, opened at the first `send` (a step run with nothing left to send opens
    none) and closed on exit. After the connection is lost, every further `send` of the run
    fails at once: the step's retry opens a new one."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._smtp: aiosmtplib.SMTP | None = None
        self._broken: str | None = None

    async def __aenter__(self) -> SmtpSession:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def send(self, message: EmailMessage, recipient: str) -> None:
        """Deliver `message` to `recipient` (one transaction: MAIL, RCPT, DATA)."""
        smtp = await self._connected()
        raw = message.as_bytes(policy=email.policy.SMTP)
        stage = "MAIL"
        try:
            await smtp.mail(self.config.sender_address)
            stage = "RCPT"
            await smtp.rcpt(recipient)
            stage = "DATA"
            await smtp.data(raw)
        except aiosmtplib.SMTPResponseException as exc:
            await self._reset(smtp, exc.code)
            raise _answered(exc.code, exc.message, stage, recipient) from exc
        except OSError as exc:  # aiosmtplib's disconnects and timeouts are OSErrors too
            self._lost(f"connection lost during {stage}: {type(exc).__name__}")
            raise SmtpUnavailable(
                f"SMTP connection lost during {stage} for {recipient}", maybe_sent=stage == "DATA"
            ) from exc
        except aiosmtplib.SMTPException as exc:
            self._lost(f"failed during {stage}: {exc}")
            raise SmtpError(f"SMTP {stage} for {recipient} failed: {exc}") from exc

    @property
    def usable(self) -> bool:
        """Whether another recipient can be tried on this connection (or a first one opened)."""
        return self._broken is None

    async def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None or not smtp.is_connected:
            return
        try:
            await smtp.quit()
        except (aiosmtplib.SMTPException, OSError) as exc:
            log.debug("SMTP QUIT failed: %s", exc)
            smtp.close()

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._broken is not None:
            raise SmtpUnavailable(f"SMTP {self._broken}")
        if self._smtp is not None:
            return self._smtp
        config = self.config
        smtp = aiosmtplib.SMTP(
            hostname=config.host,
            port=config.port,
            timeout=config.timeout,
            use_tls=config.security == "tls",
            start_tls=config.security == "starttls",
            username=config.username,
            password=config.password,
        )
        try:
            await smtp.connect()
        except aiosmtplib.SMTPResponseException as exc:
            smtp.close()
            self._lost(f"refused the session: {exc.code}")
            reply = _said(exc.code, exc.message)
            said = f"SMTP server {config.host}:{config.port} refused: {reply}"
            if 400 <= exc.code < 500:
                raise SmtpUnavailable(said, code=exc.code, reply=reply) from exc
            raise SmtpError(said, code=exc.code, reply=reply) from exc  # e.g. 535: a bad login
        except OSError as exc:
            smtp.close()
            self._lost(f"unreachable: {type(exc).__name__}")
            raise SmtpUnavailable(
                f"SMTP server {config.host}:{config.port} unreachable: {type(exc).__name__}"
            ) from exc
        except aiosmtplib.SMTPException as exc:  # e.g. no AUTH offered while a login is set
            smtp.close()
            self._lost(f"unusable: {exc}")
            raise SmtpError(f"SMTP server {config.host}:{config.port}: {exc}") from exc
        self._smtp = smtp
        return smtp

    async def _reset(self, smtp: aiosmtplib.SMTP, code: int) -> None:
        """After a refusal the envelope is cleared for the next recipient (RSET); a 421 means
        the server closed the connection."""
        if code == 421 or not smtp.is_connected:
            self._lost(f"closed the connection ({code})")
            return
        try:
            await smtp.rset()
        except (aiosmtplib.SMTPException, OSError) as exc:
            self._lost(f"connection lost after a refusal: {type(exc).__name__}")

    def _lost(self, why: str) -> None:
        self._broken = why
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()


def _said(code: int, message: str) -> str:
    """`451 try later` on one line (a server's text is not ours: never more than one line)."""
    return f"{code} {' '.join(message.split())}"[:200]


def _answered(code: int, message: str, stage: str, recipient: str) -> SmtpError:
    reply = _said(code, message)
    text = f"SMTP {stage} for {recipient}: {reply}"
    if 400 <= code < 500:
        return SmtpUnavailable(text, code=code, reply=reply)
    if stage in ("RCPT", "DATA"):
        return SmtpRefused(text, code=code, reply=reply)
    return SmtpError(text, code=code, reply=reply)  # the sender refused, or a login needed
