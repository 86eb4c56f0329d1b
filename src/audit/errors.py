"""The one error a service raises for a request it cannot honour.

Services raise :class:`ServiceError` with an HTTP-like status and a message id of the
catalogue (:mod:`audit.i18n`) with its fields; the API turns it into a response in the
reader's language, the command line into one line in the operator's. Services never
build sentences themselves, so every text a user reads exists in Chinese and English.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    def __init__(self, status: int, message_id: str, /, detail: Any = None, headers: dict[str, str] | None = None,
                 **fields: Any) -> None:
        super().__init__(message_id)
        self.status = status
        self.message_id = message_id
        self.fields = fields
        # Structured detail a client can act on (the rows of a rejected record, say).
        self.detail = detail
        self.headers = headers

    def text(self, lang: str = "zh") -> str:
        from audit.i18n import t

        return t(self.message_id, lang, **self.fields)

    def __str__(self) -> str:  # logs and tracebacks read English
        return self.text("en")
