"""Sign in with Slack's Web API methods: openid.connect.token and openid.connect.userInfo.

They are not in the reference folder (shared/slack-spec has no openid.* files), so they sit
beside the registry rather than in it (every registered method is checked against that
reference): the server answers them here, with the errors docs.slack.dev's method pages name.
They take no bot token: openid.connect.token the app's client id and secret (form fields or
HTTP Basic, as slack-sdk sends them), openid.connect.userInfo the access token it issued. The
provider itself (codes, keys, the browser's page) is ../oidc.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import SlackError
from ..registry import Args
from ..state import SlackState

OpenIdHandler = Callable[[SlackState, Args, "str | None"], dict[str, Any]]

TOKEN_ERRORS = frozenset(
    {
        "bad_client_secret",
        "bad_redirect_uri",
        "cannot_install_an_org_installed_app",
        "invalid_client",
        "invalid_client_id",
        "invalid_code",
        "invalid_grant",
        "invalid_grant_type",
        "invalid_refresh_token",
        "invalid_request",
    }
)
USER_INFO_ERRORS = frozenset({"account_inactive", "token_revoked", "token_expired"})


def openid_connect_token(state: SlackState, args: Args, token: str | None) -> dict[str, Any]:
    return state.openid.exchange(args)


def openid_connect_user_info(state: SlackState, args: Args, token: str | None) -> dict[str, Any]:
    if not token:
        raise SlackError("not_authed")
    return state.openid.user_info(token)


METHODS: dict[str, OpenIdHandler] = {
    "openid.connect.token": openid_connect_token,
    "openid.connect.userInfo": openid_connect_user_info,
}
ERRORS: dict[str, frozenset[str]] = {
    "openid.connect.token": TOKEN_ERRORS,
    "openid.connect.userInfo": USER_INFO_ERRORS,
}
