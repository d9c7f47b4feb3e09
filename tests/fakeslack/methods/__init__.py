"""Handler modules; importing this package registers every implemented Web API method."""

from . import chat, conversations, directory, files, items, views

__all__ = ["chat", "conversations", "directory", "files", "items", "views"]
