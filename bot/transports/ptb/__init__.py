"""The python-telegram-bot adapter (`SKILLSBOT_TELEGRAM_LIBRARY=ptb`).

`PtbTransport.handle` hands an update's JSON, with PTB's download, to the core's
`bot.core.reception.Reception`, which reads it (PTB parses no update): what may be
the staff's to the `StaffDesk`, with the sender's role looked up once; everything else, and
whatever the staff's desk leaves, to the `EmployerDesk`. `PtbMessenger` sends the core's
messages with PTB's `Bot`. No `Application` and no `ConversationHandler`: updates come from
the inbox (polling or the webhook write them there), and the conversation's state is the
database's. `build` (`adapter.py`) gives `bot.runtime.app.EmployerBot` its account (`PtbAccount`),
sender and transport, all over one `Bot`.
"""

from __future__ import annotations

from bot.transports.ptb.account import PtbAccount
from bot.transports.ptb.adapter import PtbAdapter, build
from bot.transports.ptb.messenger import PtbMessenger, build_ptb_bot
from bot.transports.ptb.transport import PtbTransport

__all__ = ["PtbAccount", "PtbAdapter", "PtbMessenger", "PtbTransport", "build", "build_ptb_bot"]
