"""Staff commands and invite links end to end: real polling, fake Telegram, real database."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bot.app import EmployerBot
from bot.fake_telegram import FakeTelegram
from bot.handlers.staff import ADMINS_ONLY, seed_admin_roles
from bot.invites import INVITE_SOURCE
from storage import Employer, Engine, Response, utcnow
from storage.roster import RosterEntry, import_roster, issue_invites
from storage.staff import audit_entries, role_of
from tests.e2e.conftest import Employer as Person

pytestmark = pytest.mark.slow

ADMIN, STAFF = 9001, 9002


def texts(person: Person) -> list[str]:
    return [message.text or "" for message in person.messages()]


async def test_admin_adds_staff_who_sees_the_list(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    seed_admin_roles(engine, [ADMIN])
    with Session(engine) as session, session.begin():
        import_roster(
            session,
            entries=[
                RosterEntry(organisation="Fen Bakery", sector="manufacturing"),
                RosterEntry(organisation="Ely Builders", sector="construction"),
            ],
            now=utcnow(),
        )
    admin, staff = Person(fake, ADMIN), Person(fake, STAFF)
    await admin.send("/staff add 9002 staff")
    assert admin.last().text == "9002 is now staff."
    await staff.send("/list")
    table = staff.last().text or ""
    assert "listed" in table
    assert "Manufacturing" in table
    assert "total" in table
    await staff.send("/staff add 9003 admin")  # staff, not admin
    assert staff.last().text == ADMINS_ONLY
    with Session(engine) as session:
        assert role_of(session, STAFF) == "staff"
        assert role_of(session, 9003) is None
        (entry,) = audit_entries(session, action="role.add")
    assert (entry.actor, entry.detail) == (str(ADMIN), "staff")


async def test_employers_get_the_unknown_command_answer(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    seed_admin_roles(engine, [ADMIN])
    baseline, lister, promoter = Person(fake, 3001), Person(fake, 3002), Person(fake, 3003)
    await baseline.send("/frobnicate")
    await lister.send("/list")
    await promoter.send("/staff add 3003 admin")
    assert texts(baseline)
    assert texts(lister) == texts(baseline)
    assert texts(promoter) == texts(baseline)
    with Session(engine) as session:
        assert role_of(session, 3003) is None


async def test_an_invited_employer_is_linked_by_start(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    with Session(engine) as session, session.begin():
        import_roster(session, entries=[RosterEntry(organisation="Fen Bakery")], now=utcnow())
        (invite,) = issue_invites(session, new_token=lambda: "Inv1te_token-x", now=utcnow())
    person = Person(fake, 5005)
    await person.send("/start Inv1te_token-x")
    assert person.messages()
    with Session(engine) as session:
        employer = session.get(Employer, invite.employer_id)
        assert employer is not None
        assert employer.telegram_user_id == 5005
        assert employer.status == "started"
        responses = session.exec(select(Response)).all()
        assert [r.employer_id for r in responses] == [invite.employer_id]
        assert responses[0].source == INVITE_SOURCE
    stranger = Person(fake, 5006)  # a forwarded or guessed token is only a source
    await stranger.send("/start no-such-token")
    with Session(engine) as session:
        own = session.exec(select(Employer).where(Employer.telegram_user_id == 5006)).one()
        response = session.exec(select(Response).where(Response.employer_id == own.id)).one()
    assert own.id != invite.employer_id
    assert response.source == "no-such-token"
