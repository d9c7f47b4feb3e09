"""How to fix each setting, shown when it is missing or invalid (`load_settings`)."""

from __future__ import annotations

from app.config.paging_settings import PAGING_HINTS
from app.config.source_settings import SOURCE_HINTS
from app.config.tracker_settings import TRACKER_HINTS
from app.config.web_settings import WEB_HINTS

# How to fix each setting, shown when it is missing or invalid.
HINTS: dict[str, str] = {
    "slack_bot_token": "the Bot User OAuth Token (xoxb-...) from your Slack app's OAuth page",
    "slack_signing_secret": "the Signing Secret from your Slack app's Basic Information page",
    "slack_app_token": "an app-level token (xapp-...) with connections:write, for Socket Mode",
    "slack_api_url": "a URL such as https://slack.com/api/",
    "slack_rate_limit_scale": "a factor of Slack's rate windows: 1 (Slack's own), less in tests, "
    "0 to stop pacing calls",
    "database_url": "e.g. sqlite:///./incident-bot.db or postgresql://user@host/db",
    "policy_file": "the path of a readable YAML policy file",
    "port": "a TCP port number up to 65535, such as 3000 (0: any free port)",
    "timezone": "an IANA time zone name such as UTC or Europe/Paris",
    "log_level": "one of DEBUG, INFO, WARNING, ERROR",
    "log_format": "text or json",
    "lease_seconds": "a number of seconds such as 300 (at least 1)",
    "escalation_tick_seconds": "the most seconds between scheduler ticks, e.g. 5 (0: no scheduler)",
    "worker_heartbeat_seconds": "seconds between a worker's heartbeats, e.g. 1 (0.1 to 60)",
    "alert_webhook_token": "a random string of 16+ characters (e.g. `openssl rand -hex 32`), "
    "or unset it to disable /webhooks/alerts",
    # Alert intake: per-source tokens, Sentry's signature, the storm limit.
    "alert_webhook_token_alertmanager": "a random string of 16+ characters, or unset it to use "
    "ALERT_WEBHOOK_TOKEN",
    "alert_webhook_token_sentry": "a random string of 16+ characters, or unset it to use "
    "ALERT_WEBHOOK_TOKEN",
    "alert_webhook_token_uptimerobot": "a random string of 16+ characters, or unset it to use "
    "ALERT_WEBHOOK_TOKEN",
    "alert_webhook_token_generic": "a random string of 16+ characters, or unset it to use "
    "ALERT_WEBHOOK_TOKEN",
    "alert_webhook_token_grafana": "a random string of 16+ characters (Grafana's webhook "
    "contact point sends it as its Authorization credentials), or unset it to use "
    "ALERT_WEBHOOK_TOKEN",
    "sentry_client_secret": "the Client Secret of your Sentry integration, or unset it",
    "alert_storm_limit": "a number of incidents per source per minute, e.g. 5 (0: no limit)",
    "runbooks_dir": "a readable directory of runbook YAML files",
    # Request hygiene: timeouts and limits of the HTTP server, the ops port, Slack's debug logs.
    "ops_host": "the address /metrics and the detailed /health listen on, e.g. 127.0.0.1",
    "ops_port": "a TCP port other than PORT, e.g. 9090, or unset it to serve them on PORT",
    "http_header_timeout_seconds": "seconds a client has to send a request's headers, e.g. 10",
    "http_body_timeout_seconds": "seconds a client has to send a request's body, e.g. 10",
    "http_keepalive_seconds": "seconds an idle kept-alive connection stays open, e.g. 5",
    "http_max_connections": "the most connections and requests served at once, e.g. 1000",
    "http_max_header_bytes": "the largest request line and headers accepted, e.g. 16384",
    "log_slack_bodies": "true or false",
    **TRACKER_HINTS,
    **PAGING_HINTS,
    **SOURCE_HINTS,
    **WEB_HINTS,
}
