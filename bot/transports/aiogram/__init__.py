"""The aiogram adapter (`SKILLSBOT_TELEGRAM_LIBRARY=aiogram`, the default).

`build` (`adapter.py`) gives `bot.runtime.app.EmployerBot` its account (`account.py`: getUpdates,
the webhook, menus), its sender (`delivery.py`: the core's `Sender` over aiogram's raw
calls) and its transport (`dispatch.py`: an update's JSON parsed and run through the
Dispatcher: the staff's routers of `routers/` first, the employer's `employer.py` last).
`session.py` sends JSON bodies with orjson; `retry.py` applies `bot.retry`'s policy to every
call; `markup.py` and `filters.py` are the small pieces the routers share. Only this package
and `bot.transports.ptb` import a Telegram library.
"""

from __future__ import annotations

from bot.transports.aiogram.adapter import AiogramAdapter, build

__all__ = ["AiogramAdapter", "build"]
