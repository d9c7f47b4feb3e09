"""Who and where an interaction comes from, as Slack names them: the team, the user, a
response URL the fake Slack answers, the tokens Slack puts in every body; and `NotOffered`, the
refusal of what Slack's client would not let a person do."""

from __future__ import annotations

import time
import uuid
from typing import Any

from app.sandbox.fakeslack import FakeSlack
from app.sandbox.fakeslack.state import TEAM_DOMAIN, TEAM_ID

# What Slack puts in every Events API envelope after the event (an opaque token).
EVENT_CONTEXT = "4-eyJldCI6Im1lc3NhZ2UiLCJ0aWQiOiJUMDAwMSIsImFpZCI6IkEwMDAxIn0"


VERIFICATION_TOKEN = "verification_token"


# Slack's published slash command and view_closed examples come from an Enterprise Grid org.
ENTERPRISE_ID = "E0001"


ENTERPRISE_NAME = "Fake Org"


class NotOffered(AssertionError):
    """A test tried to do what Slack's client would not let a person do."""


def team() -> dict[str, Any]:
    return {"id": TEAM_ID, "domain": TEAM_DOMAIN}


def user(fake: FakeSlack, user_id: str) -> dict[str, Any]:
    """The `user` object of an interaction, for a member of the fake workspace."""
    member = fake.users.get(user_id)
    if member is None:
        raise NotOffered(f"{user_id} is not a member of the fake workspace")
    return {"id": user_id, "username": member.name, "name": member.name, "team_id": TEAM_ID}


def response_url(fake: FakeSlack) -> str:
    return f"{fake.response_url_base}/{uuid.uuid4().hex}"


def action_ts() -> str:
    return f"{time.time():.6f}"
