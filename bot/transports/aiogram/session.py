"""The HTTP session to the Bot API: requests as JSON bodies, replies decoded by orjson.

aiogram's `AiohttpSession` sends every request as form fields, each nested value (a
keyboard, say) JSON-encoded on its own, then the form URL-encoded; the server decodes both
layers. The Bot API takes a JSON body just as well, and building one with orjson cost a
fraction of the form. Requests that upload a file still go as multipart forms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import orjson
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import InputFile
from aiohttp import ClientError, ClientTimeout

if TYPE_CHECKING:
    from aiogram import Bot

_JSON_HEADERS = {"Content-Type": "application/json"}


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
