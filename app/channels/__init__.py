"""Outbound clients of the pages beyond Slack: SMTP, Twilio, PagerDuty (one module each)."""
