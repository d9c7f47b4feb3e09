"""Configuration: settings from the environment; reading the policy file and runbook files."""
