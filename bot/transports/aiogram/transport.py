"""An update's JSON handed to the core, with aiogram's way of downloading a file.

The core reads the update itself (`bot.core.updates.read_update`: aiogram parses nothing),
decides which desk answers it (`bot.core.reception.Reception`: the staff's, its sender's role
looked up once, then the employer's) and logs its line, as for python-telegram-bot's
transport. Which command is which, who may use it and what a button means are the core's:
no Dispatcher, routers or filters here. What is aiogram's is `download`.
"""

from __future__ import annotations

import io

from aiogram import Bot

from bot.core.reception import Reception
from bot.core.staff import StaffDesk
from bot.transports import RawUpdate


class AiogramTransport:
    """Hands an update's JSON to the core, documents downloaded with aiogram."""

    def __init__(self, bot: Bot, staff: StaffDesk) -> None:
        self.bot = bot
        self.reception = Reception(staff)

    async def handle(self, raw: RawUpdate) -> None:
        """One update, start to finish (its replies sent)."""
        await self.reception.take(raw, self.download)

    async def download(self, file_id: str) -> bytes:
        """A document's bytes (getFile, then the file's URL)."""
        buffer = io.BytesIO()
        await self.bot.download(file_id, destination=buffer)
        return buffer.getvalue()

    async def aclose(self) -> None:
        """Nothing of its own to close (the Bot is the app's)."""
