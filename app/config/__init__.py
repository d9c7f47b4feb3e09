"""Configuration: settings from the environment and the policy file."""
