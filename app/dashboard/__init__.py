"""The bot's web pages: the read-only dashboard (`/dashboard`, behind Sign in with Slack or a
static token) and the public status page (`/status`). An edge like app.slack: it parses the
request, asks the services, and renders HTML; it never queries the store.

    auth.py     Sign in with Slack (OpenID Connect), the static token, session cookies
    pages.py    the dashboard's pages: open incidents, the report with its charts, an incident
    status.py   the public status page
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from app.context import BotContext
from app.dashboard import auth, pages, status


def routes(bot: BotContext) -> list[BaseRoute]:
    """Every route of the web pages (each answers 404 while its settings are unset)."""
    return [*auth.routes(bot), *pages.routes(bot), *status.routes(bot)]
