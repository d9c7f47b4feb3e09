"""Errors services raise for the edges to turn into a modal error or an ephemeral answer."""

from __future__ import annotations


class UserError(Exception):
    """Something the person asked for cannot be done; the message is shown to them as is."""


class InvalidInput(UserError):
    """A form field is wrong; `field` names the modal block to attach the message to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
