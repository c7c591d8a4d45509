"""An update's JSON handed to the core, with python-telegram-bot's way of downloading a file.

The core reads the update itself (`bot.core.updates.read_update`: PTB parses nothing),
decides which desk answers it (`bot.core.reception.Reception`: the staff's, its sender's role
looked up once, then the employer's) and logs its line, as for aiogram's transport. What is
PTB's is starting its `Bot` once (`ready`) and `download`.
"""

from __future__ import annotations

import asyncio

from telegram import Bot

from bot.core.interviewer import Interviewer
from bot.core.reception import Reception
from bot.core.staff import StaffDesk
from bot.transports import RawUpdate


class PtbTransport:
    """Hands an update's JSON to the core, documents downloaded with PTB's `Bot`."""

    def __init__(self, bot: Bot, interviewer: Interviewer, staff: StaffDesk | None = None) -> None:
        self.bot = bot
        self.reception = Reception(staff or StaffDesk(interviewer))
        self._ready = False
        self._starting = asyncio.Lock()

    async def ready(self) -> None:
        """Start PTB's Bot (its HTTP client, and getMe) once: the first updates come
        together (a worker per chat), and each would otherwise start it again."""
        if self._ready:
            return
        async with self._starting:
            if not self._ready:
                await self.bot.initialize()
                self._ready = True

    async def handle(self, raw: RawUpdate) -> None:
        """One update, start to finish (its replies sent)."""
        await self.ready()
        await self.reception.take(raw, self.download)

    async def download(self, file_id: str) -> bytes:
        """A document's bytes (getFile, then the file's URL)."""
        found = await self.bot.get_file(file_id)
        return bytes(await found.download_as_bytearray())

    async def aclose(self) -> None:
        """Close PTB's HTTP connections."""
        if self._ready:
            await self.bot.shutdown()
