"""Every update's one way into the core: the staff's desk first, the employer's for the rest.

A transport parses an update with its library into the core's plain values (`bot.core.desk`:
`Said`, `Pressed`, `Blocked`; a document in a private chat also as a
`bot.core.interview_files.Filed`) and hands them to `Reception.handle`. An update that may
be the staff's (`StaffDesk.concerns`: a private message, a file, the Try, "Use it" and
broadcast draft buttons) has its sender's role (and their chat's broadcast draft step) looked
up, in one read, and goes to the `StaffDesk`; whatever it leaves (None: not the staff's)
goes to the `EmployerDesk`, as every other update does. The role read rides along on the
update's `Who` (`Who.role`), so that the employer's unit of work (which marks a staff
member's own run as a test) does not ask again: one role query per update at most.
aiogram's and python-telegram-bot's transports both call this, so the order of the desks
is decided once.
"""

from __future__ import annotations

from dataclasses import replace

from bot.core.desk import EmployerDesk, Incoming, Pressed, Said
from bot.core.interview_files import Filed
from bot.core.messages import Reply, StaffReply
from bot.core.staff import StaffDesk


class Reception:
    """The staff's desk and the employer's over one interviewer (see the module docstring)."""

    def __init__(self, staff: StaffDesk) -> None:
        self.staff = staff
        self.desk = EmployerDesk(staff.interviewer)

    async def handle(
        self, incoming: Incoming | None, filed: Filed | None = None
    ) -> Reply | StaffReply | None:
        """Answer one update (delivered when this returns): `incoming` is its value (None:
        nothing the core handles), `filed` the document it carries, if any. The reply says
        what came of it (None: nothing was done)."""
        staff_side = filed or incoming
        if isinstance(staff_side, Said | Pressed | Filed) and self.staff.concerns(staff_side):
            standing = await self.staff.standing(staff_side.who)  # once per update
            known = replace(staff_side.who, role=standing.role)  # carried, not read again
            staff_side = replace(staff_side, who=known)
            if isinstance(incoming, Said | Pressed):
                incoming = replace(incoming, who=known)
            staff_reply = await self.staff.handle(staff_side, standing.role, standing.draft_step)
            if staff_reply is not None:
                return staff_reply
        return None if incoming is None else await self.desk.handle(incoming)
