"""Every update's one way into the core: the staff's desk first, the employer's for the rest.

A transport hands an update's JSON, with its library's way of downloading a file, to
`Reception.take`, which reads it (`bot.core.updates.read_update`: no library parses it)
into the core's plain values (`bot.core.desk`: `Said`, `Pressed`, `Blocked`; a document in a
private chat also as a `bot.core.interview_files.Filed`), answers it (`Reception.handle`)
and logs one line of what came of it (`bot.logs.UpdateLog`: its id, kind, employer and
outcome, "error" when it raised). An update that may
be the staff's (`StaffDesk.concerns`: a private message, a file, the Try, "Use it" and
broadcast draft buttons) has its sender's role (and their chat's broadcast draft step) looked
up, in one read, and goes to the `StaffDesk`; whatever it leaves (None: not the staff's)
goes to the `EmployerDesk`, as every other update does. The role read rides along on the
update's `Who` (`Who.role`), so that the employer's unit of work (which marks a staff
member's own run as a test) does not ask again: one role query per update at most.
aiogram's and python-telegram-bot's transports both call this, so the reading of an update,
the order of the desks and the log line are decided once.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from bot.core.desk import EmployerDesk, Incoming, Pressed, Said
from bot.core.interview_files import Filed
from bot.core.messages import Reply, StaffReply
from bot.core.staff import StaffDesk
from bot.core.updates import Download, RawUpdate, read_update
from bot.logs import UpdateLog, update_kind

logger = logging.getLogger("skillsbot.updates")


class Reception:
    """The staff's desk and the employer's over one interviewer (see the module docstring)."""

    def __init__(self, staff: StaffDesk) -> None:
        self.staff = staff
        self.desk = EmployerDesk(staff.interviewer)

    async def take(self, raw: RawUpdate, download: Download) -> None:
        """One update's JSON, start to finish (its replies sent, its line logged); `download`
        fetches a document's bytes by file id with the transport's library."""
        record = UpdateLog(update_id=int(raw.get("update_id", 0)), kind=update_kind(raw))
        try:
            read = read_update(raw, download)
            reply = await self.handle(read.incoming(), read.filed())
            if reply is not None:
                record.outcome = reply.outcome
                record.employer_id = reply.employer_id if isinstance(reply, Reply) else None
        except Exception:
            record.outcome = "error"
            raise
        finally:
            logger.info(record.line())

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
