"""The dashboard's signed cookies: the session (who signed in, until when) and the short-lived
sign-in state (the OpenID `state` and `nonce`, bound to this browser).

A cookie is `<payload>.<signature>`: the payload is URL-safe base64 of compact JSON, the
signature HMAC-SHA256 over the cookie's purpose and the payload, compared in constant time.
The key is DASHBOARD_SESSION_SECRET, or (unset) derived from SLACK_SIGNING_SECRET with a label
of its own, so the signing secret itself signs nothing here. Every payload carries its expiry
(`exp`, seconds since the epoch, read against the injected clock): a tampered, foreign or
expired cookie reads as None.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.config.settings import Settings

SESSION_COOKIE = "incident_bot_dashboard"
SIGN_IN_COOKIE = "incident_bot_sign_in"
COOKIE_PATH = "/dashboard"
SIGN_IN_TTL = timedelta(minutes=10)
_DERIVATION_LABEL = b"incident-bot dashboard session key v1"
MAX_COOKIE_CHARS = 4096


def session_key(settings: Settings) -> bytes:
    """The key that signs the dashboard's cookies."""
    if settings.dashboard_session_secret:
        return settings.dashboard_session_secret.encode("utf-8")
    signing = settings.slack_signing_secret.encode("utf-8")
    return hmac.new(signing, _DERIVATION_LABEL, hashlib.sha256).digest()


@dataclass(frozen=True)
class Signer:
    """Signs and reads the payloads of one cookie purpose ("session", "sign-in")."""

    key: bytes
    purpose: str

    def _mac(self, payload: str) -> str:
        message = f"{self.purpose}\n{payload}".encode("ascii")
        digest = hmac.new(self.key, message, hashlib.sha256).digest()
        return _b64(digest)

    def sign(self, values: dict[str, Any], expires: datetime) -> str:
        body = {**values, "exp": int(expires.timestamp())}
        payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode("utf-8"))
        return f"{payload}.{self._mac(payload)}"

    def read(self, cookie: str | None, now: datetime) -> dict[str, Any] | None:
        """The values of a cookie this signer made, unexpired at `now`; otherwise None."""
        if not cookie or len(cookie) > MAX_COOKIE_CHARS or cookie.count(".") != 1:
            return None
        payload, mac = cookie.split(".")
        try:
            payload.encode("ascii")
            mac.encode("ascii")
        except UnicodeEncodeError:
            return None
        if not hmac.compare_digest(self._mac(payload).encode(), mac.encode()):
            return None
        try:
            values = json.loads(_unb64(payload))
        except (ValueError, binascii.Error):
            return None
        if not isinstance(values, dict):
            return None
        exp = values.get("exp")
        if not isinstance(exp, int) or isinstance(exp, bool) or exp <= now.timestamp():
            return None
        return values


def session_signer(settings: Settings) -> Signer:
    return Signer(session_key(settings), "session")


def sign_in_signer(settings: Settings) -> Signer:
    return Signer(session_key(settings), "sign-in")


def session_lifetime(settings: Settings) -> timedelta:
    return timedelta(hours=settings.dashboard_session_hours)


def secure_cookies(settings: Settings) -> bool:
    """Cookies are marked Secure when the bot is reached over https (PUBLIC_URL)."""
    return bool(settings.public_url and settings.public_url.startswith("https://"))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
