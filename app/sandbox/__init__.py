"""Slack's side, shipped with the bot: the fake Slack Web API (`fakeslack`), the request bodies
Slack sends (`builders`) and the signed sender that posts them (`sender`).

The test suite and `incident-bot demo` use the same ones. Nothing here imports the bot: the
sandbox knows Slack, not the app (a contract in pyproject.toml).
"""
