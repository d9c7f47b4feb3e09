"""Builds the bot: the context, its step kinds, event subscribers and listeners."""
