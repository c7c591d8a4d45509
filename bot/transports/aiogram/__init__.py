"""The aiogram adapter (`SKILLSBOT_TELEGRAM_LIBRARY=aiogram`, the default).

`build` (`adapter.py`) gives `bot.runtime.app.EmployerBot` its account (`account.py`: getUpdates,
the webhook, menus), its sender (`delivery.py`: the core's `Sender` over aiogram's raw
calls) and its transport (`transport.py`: an update's JSON parsed with aiogram into the
core's values and handed to `bot.core.reception.Reception`, as PTB's transport does).
`session.py` sends JSON bodies with orjson and reads an error by its HTTP status; `retry.py`
applies `bot.retry`'s policy to every call; `markup.py` turns a core keyboard into aiogram's.
Only this package and `bot.transports.ptb` import a Telegram library.
"""

from __future__ import annotations

from bot.transports.aiogram.adapter import AiogramAdapter, build

__all__ = ["AiogramAdapter", "build"]
