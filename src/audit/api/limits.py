"""Bounds on what a request may send, enforced before a route sees it.

Two pure ASGI middlewares installed by :func:`install_limits` (not ``BaseHTTPMiddleware``:
a check through it has to read the body whole before the route can, which is how the NUL
check this replaces let a 300 MB login body cost 1.5 GB):

- :class:`LimitBody` refuses with 413 a body over the limit for its kind of route (a login,
  an upload, any other JSON), on its Content-Length before anything is read, and otherwise
  by counting the bytes as the route reads them, stopping at the first chunk past the limit
  (a chunked body has no Content-Length). Nothing is buffered: a 300 MB login body costs the
  server its first 16 KB.
- :class:`RefuseUnstorableText` refuses with 422 what no record can hold, in the path and
  query, and in JSON and text bodies as they stream: NUL (PostgreSQL stores none in text)
  and, in JSON, unpaired surrogate escapes such as ``\\ud800`` (valid JSON, but no
  character: they cannot be encoded as UTF-8 and fail when they reach the database).

Both signal a refusal by raising a :class:`Refused` (an ``HTTPException``) from ``receive``,
which FastAPI passes on to the handler :func:`install_limits` installs; the middleware
answers itself if the app lets the exception out, or before the app runs. Either way the
answer is ``{"detail": <text>, "message": <id>}`` like every other refusal, in the language
of the request's ``Accept-Language`` (the user is not known at this layer: no token has
been read yet when a body is refused at the door). :func:`spool_body` streams an upload to a
temporary file under the same kind of limit, for routes that must not hold it in memory.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from audit.config import get_settings
from audit.i18n import negotiate, t


class Refused(HTTPException):
    """A request refused by a limit; raised from ``receive`` while the body streams. Its
    reason is the message ``message_id`` with ``fields``; ``detail`` is the English text
    (what a handler that does not know the message shows)."""

    def __init__(self, status: int, message_id: str, /, **fields: Any) -> None:
        super().__init__(status, t(message_id, "en", **fields))
        self.message_id = message_id
        self.fields = fields


def _size(limit: int) -> tuple[int, str]:
    """A limit in the largest unit that divides it: (1, "MB") for 1 MiB, (300, "B") for 300."""
    if limit >= 1 << 20 and limit % (1 << 20) == 0:
        return limit >> 20, "MB"
    if limit >= 1 << 10 and limit % (1 << 10) == 0:
        return limit >> 10, "KB"
    return limit, "B"


def _too_large(limit: int) -> Refused:
    size, unit = _size(limit)
    return Refused(413, "error.limit.body_too_large", limit=limit, size=size, unit=unit)


def _language(headers: Iterable[tuple[bytes, bytes]]) -> str:
    accept = next((value for key, value in headers if key.lower() == b"accept-language"), None)
    return negotiate(accept.decode("latin-1") if accept is not None else None)


def _body(refusal: Refused, lang: str) -> dict[str, str]:
    return {"detail": t(refusal.message_id, lang, **refusal.fields), "message": refusal.message_id}


async def refused_handler(request: Request, exc: Exception) -> JSONResponse:
    """A refusal raised while a route read its body, in the language the request asks for."""
    assert isinstance(exc, Refused)
    return JSONResponse(_body(exc, _language(request.headers.raw)), status_code=exc.status_code)


async def _respond(send: Send, scope: Scope, refusal: Refused) -> None:
    body = json.dumps(_body(refusal, _language(scope.get("headers", ()))), ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": refusal.status_code,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _refusal(exc: BaseException) -> Refused | None:
    """The refusal ``exc`` is, or the one inside an exception group made only of refusals
    (anyio groups errors from task groups a route or middleware may run)."""
    if isinstance(exc, Refused):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        matched, rest = exc.split(Refused)
        if rest is None and matched is not None:
            while isinstance(matched, BaseExceptionGroup):
                matched = matched.exceptions[0]  # type: ignore[assignment]
            return matched if isinstance(matched, Refused) else None
    return None


async def _run(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Run ``app``; a refusal it lets out becomes the response, unless one has started (the
    exception is then the server's to handle, as any other)."""
    started = False

    async def tracking_send(message: Message) -> None:
        nonlocal started
        if message["type"] == "http.response.start":
            started = True
        await send(message)

    try:
        await app(scope, receive, tracking_send)
    except BaseException as exc:
        refusal = _refusal(exc)
        if refusal is None or started:
            raise
        await _respond(send, scope, refusal)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value)
    return None


# ---------------------------------------------------------------- body size


class LimitBody:
    """Refuse (413) a request body over its route's limit: ``login_max`` for ``/auth/login``,
    any path ending in ``/login`` and the public window's forms (``/public/…``), ``upload_max`` for the paths in ``upload_paths``,
    ``json_max`` for every other."""

    def __init__(self, app: ASGIApp, *, upload_paths: Iterable[str], upload_max: int, json_max: int,
                 login_max: int) -> None:
        self.app = app
        self.upload_paths = frozenset(upload_paths)
        self.upload_max = upload_max
        self.json_max = json_max
        self.login_max = login_max

    def limit_for(self, path: str) -> int:
        # The public window's forms (an ID number and a name; a complaint of 1,000
        # characters) are as small as a login: anyone may send them.
        if path.endswith("/login") or path.startswith("/public/"):
            return self.login_max
        if path in self.upload_paths:
            return self.upload_max
        return self.json_max

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _header(scope, b"content-length")
        if declared is not None:
            if not declared.strip().isdigit():  # bytes: ASCII digits only
                await _respond(send, scope, Refused(400, "error.limit.content_length"))
                return
            if int(declared.strip()) > limit:  # refused before a byte of the body is read
                await _respond(send, scope, _too_large(limit))
                return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _too_large(limit)
            return message

        await _run(self.app, scope, counting_receive, send)


# ---------------------------------------------------------------- text no record can hold

NUL_REFUSED = "error.limit.text_nul"
SURROGATE_REFUSED = "error.limit.text_surrogate"

# In JSON with every escaped backslash pair (``\\\\``) replaced by a plain byte, each
# remaining backslash starts an escape (a run of backslashes pairs up from its start, and no
# other escape has a backslash as its second character), so these are found by one search:
# ``\\u0000``, a high surrogate escape not followed by a low one, a low one not preceded by
# a high one.
_PAIR = b"\\\\"
_VIOLATION = re.compile(  # every branch after the literal \u, which the engine searches for fast
    rb"\\u(?:0000"
    rb"|[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2}\\u)[dD][c-fC-F][0-9a-fA-F]{2})")
# Whether a match starts at a position depends on the 6 bytes before it and the 12 from it.
_BEFORE, _FROM = 6, 12


class _JsonScanner:
    """Finds NUL and unpaired surrogate escapes in a JSON body fed in chunks of any size,
    at C speed (a replace and a regular expression per chunk), holding back a few bytes."""

    def __init__(self) -> None:
        # Transformed already: up to 6 settled bytes of context, then those not yet settled.
        self._tail = b""
        self._context = 0

    def feed(self, chunk: bytes, final: bool) -> None:
        if b"\x00" in chunk:
            raise Refused(422, NUL_REFUSED)
        # The tail holds no pair, but may end in a lone backslash that pairs with the chunk's
        # first: replacing again over both pairs a run exactly as one pass over the body.
        data = (self._tail + chunk).replace(_PAIR, b"_")
        # A match starting before ``settled`` is decided by bytes already here; those before
        # ``self._context`` were decided last time.
        settled = len(data) if final else max(len(data) - _FROM + 1, self._context)
        if b"\\u" in data:
            for found in _VIOLATION.finditer(data, self._context):
                if found.start() >= settled:
                    break
                raise Refused(422, NUL_REFUSED if found.group() == b"\\u0000" else SURROGATE_REFUSED)
        cut = max(settled - _BEFORE, 0)
        self._tail, self._context = data[cut:], settled - cut


class _NulScanner:
    """Finds NUL bytes in a text body (a CSV roster): no cell may hold one."""

    def feed(self, chunk: bytes, final: bool) -> None:
        if b"\x00" in chunk:
            raise Refused(422, NUL_REFUSED)


def _scanner_for(scope: Scope) -> _JsonScanner | _NulScanner | None:
    kind = (_header(scope, b"content-type") or b"").split(b";")[0].strip().lower()
    # FastAPI parses a body without a content type as JSON, so it is scanned as JSON.
    if not kind or kind == b"application/json" or kind.endswith(b"+json"):
        return _JsonScanner()
    if kind.startswith(b"text/"):
        return _NulScanner()
    return None  # binary uploads (zip, xlsx) may carry NUL bytes; the importer reads them


class RefuseUnstorableText:
    """Refuse (422) NUL in the path or query, and NUL or unpaired surrogate escapes in a JSON
    or text body, as it streams (bounded by :class:`LimitBody`, installed outside this)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_path = bytes(scope.get("raw_path") or b"").lower()
        query = bytes(scope.get("query_string") or b"").lower()
        if b"%00" in raw_path or b"%00" in query or b"\x00" in query or "\x00" in scope["path"]:
            await _respond(send, scope, Refused(422, NUL_REFUSED))
            return
        scanner = _scanner_for(scope)
        if scanner is None:
            await self.app(scope, receive, send)
            return

        async def scanning_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                scanner.feed(message.get("body", b""), final=not message.get("more_body", False))
            return message

        await _run(self.app, scope, scanning_receive, send)


# ---------------------------------------------------------------- installing, spooling

def install_limits(app: FastAPI, upload_paths: Iterable[str]) -> None:
    """Install both middlewares, the size limit outermost so the text guard only ever sees
    a bounded body. ``upload_paths`` take the upload limit; the limits are the settings'."""
    settings = get_settings()
    app.add_exception_handler(Refused, refused_handler)
    app.add_middleware(RefuseUnstorableText)
    app.add_middleware(LimitBody, upload_paths=tuple(upload_paths), upload_max=settings.upload_max_bytes,
                       json_max=settings.json_max_bytes, login_max=settings.login_max_bytes)


async def spool_body(request: Request, limit: int, suffix: str = "") -> Path:
    """Stream the request body to a new temporary file and return its path (the caller
    deletes it), refusing (413) a body over ``limit`` as soon as it passes it, so an upload
    is never held in memory. The writes are plain blocking writes of the server's chunks
    (tens of KB into the page cache), not worth a thread each."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    descriptor, name = tempfile.mkstemp(prefix="audit-upload-", suffix=suffix)
    path = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            size = 0
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                handle.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path
