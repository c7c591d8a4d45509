"""The HTTP session to the Bot API: requests as JSON bodies, replies decoded by orjson.

aiogram's `AiohttpSession` sends every request as form fields, each nested value (a
keyboard, say) JSON-encoded on its own, then the form URL-encoded; the server decodes both
layers. The Bot API takes a JSON body just as well, and building one with orjson cost a
fraction of the form. Requests that upload a file still go as multipart forms.

An error is read by its HTTP status whatever its body says (`check_response`): aiogram
raises `ClientDecodeError`, an error the retry policy cannot place, for a body that is not
the Bot API's JSON (a proxy's HTML "502 Bad Gateway"), and a plain `TelegramAPIError` for
a 429 without `retry_after`. Here the first is read as the status's own error
(`TelegramServerError` for a 5xx, `TelegramForbiddenError` for a 403...) and a 429 always
as `TelegramRetryAfter` (the policy's `DEFAULT_RETRY_AFTER` when Telegram did not say), so
that `bot.transports.aiogram.retry` tries again exactly where PTB's retry does.
"""

from __future__ import annotations

import math
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, cast

import orjson
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import InputFile
from aiohttp import ClientError, ClientTimeout

from bot.retry import DEFAULT_RETRY_AFTER

if TYPE_CHECKING:
    from aiogram import Bot

_JSON_HEADERS = {"Content-Type": "application/json"}
# A 429's wait when it does not say (aiogram's `retry_after` is whole seconds).
_RETRY_AFTER = max(1, math.ceil(DEFAULT_RETRY_AFTER))


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


class JsonSession(AiohttpSession):
    """`AiohttpSession` sending JSON bodies (multipart only for uploads); orjson both ways."""

    def __init__(self, **options: Any) -> None:
        super().__init__(json_loads=orjson.loads, json_dumps=_json_dumps, **options)

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 (aiogram's signature)
    ) -> TelegramType:
        """Send the method as a JSON object and parse Telegram's answer (as aiogram does)."""
        files: dict[str, InputFile] = {}
        payload = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            if prepared is not None:
                payload[key] = prepared
        if files:
            return await super().make_request(bot, method, timeout)
        session = await self.create_session()
        url = self.api.api_url(token=bot.token, method=method.__api_method__)
        try:
            async with session.post(
                url,
                data=orjson.dumps(payload),
                headers=_JSON_HEADERS,
                timeout=ClientTimeout(total=self.timeout if timeout is None else timeout),
            ) as resp:
                raw = await resp.read()
        except TimeoutError as error:
            raise TelegramNetworkError(method=method, message="Request timeout error") from error
        except ClientError as error:
            message = f"{type(error).__name__}: {error}"
            raise TelegramNetworkError(method=method, message=message) from error
        # orjson reads the bytes as they came; aiogram's signature says str.
        response = self.check_response(
            bot=bot, method=method, status_code=resp.status, content=cast(str, raw)
        )
        return cast(TelegramType, response.result)

    def check_response(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        status_code: int,
        content: str,
    ) -> Response[TelegramType]:
        """Telegram's answer read as aiogram does, an error by its HTTP status whatever its
        body (see the module docstring)."""
        if HTTPStatus.OK <= status_code <= HTTPStatus.IM_USED:
            return super().check_response(bot, method, status_code, content)
        error = _telegram_error(self.json_loads, content)
        if error is None:  # not the Bot API's answer: a proxy's page, say
            error = {
                "ok": False,
                "error_code": status_code,
                "description": f"HTTP {status_code}, not the Bot API's answer",
            }
        if status_code == HTTPStatus.TOO_MANY_REQUESTS:
            parameters = error.get("parameters")
            parameters = dict(parameters) if isinstance(parameters, dict) else {}
            if not parameters.get("retry_after"):
                parameters["retry_after"] = _RETRY_AFTER
            error["parameters"] = parameters
        return super().check_response(bot, method, status_code, cast(str, orjson.dumps(error)))


def _telegram_error(loads: Any, content: str) -> dict[str, Any] | None:
    """The Bot API's error object in a body (`{"ok": false, "description": ...}`), or
    None for any other body."""
    try:
        body = loads(content)
    except Exception:  # noqa: BLE001 (whatever the decoder raises: not JSON)
        return None
    if not isinstance(body, dict) or body.get("ok") is not False:
        return None
    if not isinstance(body.get("description"), str):
        return None
    return body
