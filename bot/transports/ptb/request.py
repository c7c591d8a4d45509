"""python-telegram-bot's networking on aiohttp, the HTTP client the rest of the bot uses.

PTB makes its HTTP calls through a `telegram.request.BaseRequest`; its own, `HTTPXRequest`,
runs on httpx and httpcore, whose connection pool scans every connection for every
connection on each request it queues or finishes: with the hundred connections a busy bot
keeps open, that scan was most of the PTB bot's CPU per answer. `AiohttpRequest` makes the
same exchange with an aiohttp session (PTB still builds every call and reads every answer:
its errors, `RetryAfter`, `Forbidden`..., are raised as usual). The session is opened on
first use, in the running event loop, and closed by `shutdown`.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

# Seconds: reading an answer (aiogram's 60, not PTB's own 5: a call whose answer is late
# is tried again, and Telegram has no idempotency key, so a slow answer read as lost sends
# the message twice; CI saw PTB's bot show questions twice under load), connecting; uploads
# may take longer.
READ_SECONDS = 60.0
CONNECT_SECONDS = 5.0
UPLOAD_SECONDS = 20.0


class AiohttpRequest(BaseRequest):
    """A PTB request backend on one aiohttp session of `connections` connections at most."""

    def __init__(self, *, connections: int = 128, read_timeout: float = READ_SECONDS) -> None:
        self.connections = connections
        self._read_timeout = read_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        """Nothing to do before the first call (the session opens then)."""

    async def shutdown(self) -> None:
        """Close the session and its connections (a later call opens a new one)."""
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.connections),
                headers={"User-Agent": self.USER_AGENT},
            )
        return self._session

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """One HTTP exchange: the status and body, or PTB's `TimedOut`/`NetworkError`."""
        files = request_data.multipart_data if request_data is not None else {}
        read = self._read_timeout if read_timeout is BaseRequest.DEFAULT_NONE else read_timeout
        if files and read is not None:
            read = max(read, UPLOAD_SECONDS)
        connect = (
            CONNECT_SECONDS if connect_timeout is BaseRequest.DEFAULT_NONE else connect_timeout
        )
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect, sock_read=read)
        try:
            async with self._open().request(
                method, url, data=_body(request_data, files), timeout=timeout
            ) as answer:
                return answer.status, await answer.read()
        except TimeoutError as error:
            raise TimedOut from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{type(error).__name__}: {error}") from error


def _body(request_data: RequestData | None, files: dict[str, Any]) -> Any:
    """The parameters as a form, multipart when there are files (as PTB's httpx sends)."""
    if request_data is None:
        return None
    fields = request_data.json_parameters
    if not files:
        return fields
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    for name, (file_name, content, mime_type) in files.items():
        form.add_field(name, content, filename=file_name, content_type=mime_type)
    return form
