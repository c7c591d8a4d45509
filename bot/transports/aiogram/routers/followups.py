"""The analysts' /weekly on aiogram: parse, hand to `bot.core.staff.StaffDesk`.

/weekly is for analysts (role analyst or admin, or SKILLSBOT_ANALYSTS); anyone else falls
through to the unknown-command answer. What it does is the core's (`StaffDesk.weekly`). The
follow-up messages' buttons (Continue, No more messages, a round's Start, Send me messages
again) are the core's too (`bot.core.desk.EmployerDesk.follow_up`), as every employer's
update is.
"""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import BaseFilter
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot.core.staff import StaffDesk
from bot.transports.aiogram.filters import Inline
from bot.transports.aiogram.routers.staff import command, on_command, sender_role


class IsAnalyst(BaseFilter):
    """Passes messages from analysts (`StaffDesk.is_analyst`); the handler receives
    `staff_role` (not looked up for a SKILLSBOT_ANALYSTS id)."""

    def __init__(self, staff: StaffDesk) -> None:
        self.staff = staff

    async def __call__(self, event: TelegramObject, **data: Any) -> bool | dict[str, Any]:
        """The role, for an analyst; False for anyone else."""
        user = event.from_user if isinstance(event, Message | CallbackQuery) else None
        if user is None:
            return False
        if self.staff.is_analyst(user.id, None):
            return {"staff_role": None}
        role = await sender_role(data, user.id)
        return {"staff_role": role} if self.staff.is_analyst(user.id, role) else False


def router(staff: StaffDesk) -> Router:
    """A new router with /weekly (before the employer's router, whose unknown-command
    answer anyone else gets)."""
    feature = Router(name="followups")
    feature.message.register(
        on_command, Inline(F.chat.type == "private"), command("weekly"), IsAnalyst(staff)
    )
    return feature
