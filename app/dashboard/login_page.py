"""The dashboard's sign-in page: "Sign in with Slack" and, when DASHBOARD_TOKEN is set, the
token form. Everything shown is escaped; the reasons a sign-in was refused are fixed texts
chosen by a key, never words taken from the request."""

from __future__ import annotations

import base64
import hashlib
from html import escape
from urllib.parse import urlencode

from starlette.responses import HTMLResponse, Response

REASONS: dict[str, str] = {
    "token": "That token is not the dashboard's token.",
    "state": "This sign-in did not start in this browser (or was used already). Try again.",
    "expired": "The sign-in took too long, or cookies are blocked. Try again.",
    "denied": "Slack did not sign you in (the request was cancelled or refused).",
    "other_workspace": (
        "You signed in to another Slack workspace. Only members of this bot's workspace may "
        "see its dashboard: sign in to Slack with that workspace's account and try again."
    ),
    "invalid_token": "Slack's answer could not be verified, so you are not signed in. Try again.",
    "invalid_code": "Slack refused the sign-in code (expired or used already). Try again.",
    "unavailable": "Slack could not be reached to finish signing in. Try again in a moment.",
    "misconfigured": (
        "Slack refused this bot's credentials: check SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and "
        "the redirect URL in the app's settings (OAuth & Permissions)."
    ),
}

STYLE = """
body{font-family:system-ui,sans-serif;background:#f6f6f8;color:#1d1c1d;margin:0}
main{max-width:26rem;margin:12vh auto;background:#fff;padding:2rem;border-radius:8px;
box-shadow:0 1px 3px #0002}
h1{font-size:1.3rem;margin-top:0}
.slack{display:block;text-align:center;background:#4a154b;color:#fff;padding:.7rem;
border-radius:6px;text-decoration:none;font-weight:600}
.error{background:#fde8e8;color:#8a1c1c;padding:.6rem .8rem;border-radius:6px}
form{margin-top:1.5rem}label{display:block;margin-bottom:.3rem}
input[type=password]{width:100%;box-sizing:border-box;padding:.5rem}
button{margin-top:.6rem;padding:.5rem 1rem}
"""


# The page's only style is the inline block above, allowed by its hash; no script, no frame.
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode("utf-8")).digest()).decode("ascii")
CSP = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; script-src 'none'; "
    "img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def render(
    *,
    next_path: str,
    error: str | None,
    with_slack: bool,
    with_token: bool,
    status_code: int = 200,
) -> Response:
    parts = ["<h1>Incident dashboard</h1>"]
    reason = REASONS.get(error or "")
    if reason is None and error:
        reason = "Signing in failed. Try again."
    if reason:
        parts.append(f'<p class="error" role="alert">{escape(reason)}</p>')
    if with_slack:
        start = "/dashboard/auth/slack?" + urlencode({"next": next_path})
        parts.append(f'<a class="slack" href="{escape(start)}">Sign in with Slack</a>')
    if with_token:
        parts.append(
            '<form method="post" action="/dashboard/login">'
            '<label for="token">Dashboard token</label>'
            '<input type="password" id="token" name="token" autocomplete="off" required>'
            f'<input type="hidden" name="next" value="{escape(next_path)}">'
            "<button type=submit>Sign in with the token</button>"
            "<p><small>The token shows public incidents only.</small></p></form>"
        )
    body = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="referrer" content="same-origin">'
        f"<title>Sign in · Incident dashboard</title><style>{STYLE}</style></head>"
        f"<body><main>{''.join(parts)}</main></body></html>"
    )
    return HTMLResponse(body, status_code=status_code, headers=HEADERS)
