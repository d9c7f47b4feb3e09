"""Fake issue trackers for the tests and the demo: Jira, GitHub, Linear."""
