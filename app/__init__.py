"""Slack incident-response bot: the written incident-response plan, as software."""

__version__ = "0.1.0"
