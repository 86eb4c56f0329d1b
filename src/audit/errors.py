"""The one error a service raises for a request it cannot honour, and the base of every
error that names a catalogue message.

Services raise :class:`ServiceError` with an HTTP-like status and a message id of the
catalogue (:mod:`audit.i18n`) with its fields; the API turns it into a response in the
reader's language, the command line into one line in the operator's. Services never
build sentences themselves, so every text a user reads exists in Chinese and English.
The importer's errors (a cell, a whole dataset) are :class:`MessageError` too: they are
rendered where they are shown, in the language of whoever reads them.
"""

from __future__ import annotations

from typing import Any


class MessageError(Exception):
    """An error that is a catalogue message and its fields (JSON-friendly values), rendered
    when it is shown; ``str()`` is the English text, for logs and tracebacks."""

    def __init__(self, message_id: str, /, **fields: Any) -> None:
        super().__init__(message_id)
        self.message_id = message_id
        self.fields = fields

    def text(self, lang: str = "zh") -> str:
        from audit.i18n import t

        return t(self.message_id, lang, **self.fields)

    def as_message(self) -> dict[str, Any]:
        """The error as a nested field of another message, rendered in the same language."""
        return {"message": self.message_id, "args": dict(self.fields)}

    def __str__(self) -> str:
        return self.text("en")


class ServiceError(MessageError):
    def __init__(self, status: int, message_id: str, /, detail: Any = None, headers: dict[str, str] | None = None,
                 **fields: Any) -> None:
        super().__init__(message_id, **fields)
        self.status = status
        # Structured detail a client can act on (the rows of a rejected record, say).
        self.detail = detail
        self.headers = headers
