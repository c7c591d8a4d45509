"""The python-telegram-bot adapter (`SKILLSBOT_TELEGRAM_LIBRARY=ptb`).

`PtbTransport.handle` parses an update's JSON with `telegram.Update.de_json`, turns it into a
`bot.core.desk` value and hands it to the `EmployerDesk`; `PtbMessenger` sends the core's
messages with PTB's `Bot`. No `Application` and no `ConversationHandler`: updates come from
the inbox (polling or the webhook write them there), and the conversation's state is the
database's. Staff commands, interview files, broadcasts drafting and the follow-up buttons'
handlers are still aiogram's only (`bot.handlers`); on PTB an employer path only.
"""

from __future__ import annotations

from bot.transports.ptb.messenger import PtbMessenger, build_ptb_bot
from bot.transports.ptb.transport import PtbTransport

__all__ = ["PtbMessenger", "PtbTransport", "build_ptb_bot"]
