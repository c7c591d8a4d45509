"""The aiogram adapter (`SKILLSBOT_TELEGRAM_LIBRARY=aiogram`, the default).

`build` (`adapter.py`) gives `bot.runtime.app.EmployerBot` its account (`account.py`: getUpdates,
the webhook, menus), its sender (`delivery.py`: the core's `Sender` over aiogram's raw
calls) and its transport (`transport.py`: an update's JSON handed to the core's
`Reception`, which reads it; aiogram only downloads files, as PTB does in its transport).
`session.py` sends JSON bodies with orjson and reads an error by its HTTP status; `retry.py`
applies `bot.retry`'s policy to every call; `markup.py` turns a core keyboard into aiogram's.
Only this package and `bot.transports.ptb` import a Telegram library.
"""

from __future__ import annotations

from bot.transports.aiogram.adapter import AiogramAdapter, build

__all__ = ["AiogramAdapter", "build"]
