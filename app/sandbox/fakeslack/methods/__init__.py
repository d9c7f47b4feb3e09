"""Handler modules; importing this package registers every implemented Web API method."""

from . import apps, chat, conversations, directory, files, items, views

__all__ = ["apps", "chat", "conversations", "directory", "files", "items", "views"]
