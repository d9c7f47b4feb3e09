"""Requests shaped like the ones Slack sends the bot, signed with the signing secret."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

TEAM_ID = "T0001"


class SlackSender:
    """Posts to the bot's /slack/events exactly as Slack would, signature included."""

    def __init__(self, base_url: str, signing_secret: str, response_url_base: str) -> None:
        self.url = base_url.rstrip("/") + "/slack/events"
        self.verifier = SignatureVerifier(signing_secret)
        self.response_url_base = response_url_base.rstrip("/")
        self.http = httpx.AsyncClient(timeout=10)

    async def close(self) -> None:
        await self.http.aclose()

    def signed_headers(
        self, body: str, *, timestamp: int | None = None, content_type: str
    ) -> dict[str, str]:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        return {
            "content-type": content_type,
            "x-slack-request-timestamp": ts,
            "x-slack-signature": self.verifier.generate_signature(timestamp=ts, body=body),
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

    async def command(
        self,
        text: str,
        *,
        user: str = "UREPORTER",
        channel: str = "CGENERAL",
        trigger_id: str = "trigger-unset",
        **extra: str,
    ) -> httpx.Response:
        fields = {
            "token": "verification-token-unused",
            "team_id": TEAM_ID,
            "team_domain": "acme",
            "channel_id": channel,
            "channel_name": "general",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/incident",
            "text": text,
            "api_app_id": "A0001",
            "response_url": f"{self.response_url_base}/{uuid.uuid4().hex}",
            "trigger_id": trigger_id,
            **extra,
        }
        return await self.post(urlencode(fields), "application/x-www-form-urlencoded")

    async def interaction(self, payload: dict[str, Any]) -> httpx.Response:
        payload = {
            "team": {"id": TEAM_ID, "domain": "acme"},
            "api_app_id": "A0001",
            "token": "verification-token-unused",
            **payload,
        }
        body = urlencode({"payload": json.dumps(payload)})
        return await self.post(body, "application/x-www-form-urlencoded")

    async def view_submission(
        self, view: dict[str, Any], *, user: str = "UREPORTER", values: dict[str, Any]
    ) -> httpx.Response:
        submitted = {**view, "state": {"values": values}}
        return await self.interaction(
            {
                "type": "view_submission",
                "user": {"id": user, "username": user.lower(), "team_id": TEAM_ID},
                "view": submitted,
                "trigger_id": "trigger-from-submission",
            }
        )

    async def block_action(
        self,
        *,
        view: dict[str, Any] | None = None,
        actions: list[dict],
        user: str = "UREPORTER",
        **extra: Any,
    ) -> httpx.Response:
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": user, "username": user.lower(), "team_id": TEAM_ID},
            "actions": actions,
            "trigger_id": "trigger-from-action",
            **extra,
        }
        if view is not None:
            payload["view"] = view
            payload["container"] = {"type": "view", "view_id": view["id"]}
        return await self.interaction(payload)

    async def event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry_num: int | None = None
    ) -> httpx.Response:
        body = json.dumps(
            {
                "token": "verification-token-unused",
                "team_id": TEAM_ID,
                "api_app_id": "A0001",
                "event": event,
                "type": "event_callback",
                "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
                "event_time": int(time.time()),
                "authorizations": [{"team_id": TEAM_ID, "user_id": "UBOT0001", "is_bot": True}],
            }
        )
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
) -> dict[str, Any]:
    """state.values of the declare modal as Slack sends them on submit."""
    values: dict[str, Any] = {
        "title": {"value": {"type": "plain_text_input", "value": title}},
        "description": {"value": {"type": "plain_text_input", "value": description or None}},
        "severity": {
            "value": {
                "type": "static_select",
                "selected_option": {"value": severity} if severity else None,
            }
        },
        "visibility": {
            "value": {
                "type": "static_select",
                "selected_option": {"value": visibility} if visibility else None,
            }
        },
    }
    for sev, keys in (impacts or {}).items():
        values[f"impacts_{sev}"] = {
            "value": {"type": "checkboxes", "selected_options": [{"value": k} for k in keys]}
        }
    return values
