"""The prompt-id cache: which message shows each chat's question, written in batches.

After a unit of work commits, the interviewer sends the prompts; the id of the message
showing the question (the one whose buttons count, see the stale-button policy in
`bot.core.interviewer`) is remembered here and written with the others waiting, in one
transaction, `PROMPT_BATCH_SECONDS` later, or by the chat's next transaction if that
comes first (`waiting` hands it over, `written` forgets it): a second transaction per
update cost a sixth of the bot's time. If the bot dies before a batch is written, the id
stored is an older message's: a button pressed on a newer message is then still taken
(message ids only grow in a chat, and the engine checks that a button belongs to the
question asked).
"""

from __future__ import annotations

import asyncio
import logging

from storage import Units, set_prompt_messages

logger = logging.getLogger("skillsbot.interviewer")

# How long a prompt message id may wait before it is written with the others (seconds).
PROMPT_BATCH_SECONDS = 0.2


class PromptCache:
    """Prompt message ids not written yet: chat id -> (response id, message id)."""

    def __init__(self, units: Units) -> None:
        self.units = units
        self._waiting: dict[int, tuple[int, int]] = {}
        self._writer: asyncio.Task[None] | None = None

    def waiting(self, chat_id: int) -> tuple[int, int] | None:
        """The chat's (response id, message id) not written yet, for its next transaction."""
        return self._waiting.get(chat_id)

    def remember(self, chat_id: int, response_id: int, message_id: int) -> None:
        """The message now showing the response's question; written with the next batch."""
        self._waiting[chat_id] = (response_id, message_id)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_soon())

    def written(self, batch: dict[int, tuple[int, int]]) -> None:
        """Forget the prompt ids written, unless a newer one came for the chat meanwhile."""
        for chat_id, record in batch.items():
            if self._waiting.get(chat_id) == record:
                del self._waiting[chat_id]

    async def write(self) -> None:
        """Write the prompt message ids waiting (one transaction, whichever the chats)."""
        batch = dict(self._waiting)
        if batch:
            # Forward-only writes need no chat lock (see storage.set_prompt_messages).
            await self.units.run(None, set_prompt_messages, dict(batch.values()))
            self.written(batch)

    async def aclose(self) -> None:
        """Write the ids still waiting (after the last update has been handled)."""
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
        try:
            await self.write()
        except Exception as error:  # the database is away: the ids are only a convenience
            logger.warning("event=prompt_ids_not_written error=%s", type(error).__name__)

    async def _write_soon(self) -> None:
        await asyncio.sleep(PROMPT_BATCH_SECONDS)
        try:
            await self.write()
        except Exception as error:  # kept for the next batch, or the chat's next update
            logger.warning("event=prompt_ids_not_written error=%s", type(error).__name__)
