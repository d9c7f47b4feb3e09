"""The web pages' settings: what turns the dashboard on, and secrets too short to be safe
refused at start-up with the setting's name."""

from __future__ import annotations

from typing import Any

import pytest

from app.config.settings import ConfigError, Settings, load_settings


def settings(**values: Any) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token="xoxb-test",
        slack_signing_secret="s" * 32,
        **values,
    )


def test_the_dashboard_is_off_until_a_way_in_is_set() -> None:
    assert not settings().dashboard_enabled
    assert settings(dashboard_token="t" * 16).dashboard_enabled
    half = settings(slack_client_id="1.2", slack_client_secret="x" * 32)
    assert not half.sign_in_with_slack  # no PUBLIC_URL to come back to
    whole = settings(
        slack_client_id="1.2", slack_client_secret="x" * 32, public_url="https://bot.example"
    )
    assert whole.sign_in_with_slack and whole.dashboard_enabled


@pytest.mark.parametrize("name", ["DASHBOARD_TOKEN", "DASHBOARD_SESSION_SECRET"])
def test_a_short_dashboard_secret_is_refused_naming_the_setting(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s" * 32)
    monkeypatch.setenv(name, "short")
    with pytest.raises(ConfigError, match=name):
        load_settings(_env_file=None)


def test_blank_web_settings_read_as_unset() -> None:
    blank = settings(dashboard_token="  ", statuspage_api_key="", slack_client_id=" ")
    assert blank.dashboard_token is None and blank.statuspage_api_key is None
    assert blank.slack_client_id is None and not blank.statuspage_sync
    assert settings(status_page="").status_page is False  # STATUS_PAGE= in a .env
