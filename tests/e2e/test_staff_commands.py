"""Staff commands and invite links end to end: real polling, fake Telegram, real database."""

from __future__ import annotations

import pytest
from sqlmodel import Session, col, select

from bot.core.invites import INVITE_SOURCE, new_invite_token
from bot.core.staff import ADMINS_ONLY, BAD_USER_ID, seed_admin_roles
from bot.devtools.fake_telegram import FakeTelegram
from bot.runtime.app import EmployerBot
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
    summary, document = staff.messages()[-2:]
    assert "Employers: 2" in (summary.text or "")
    assert "On the list, not invited yet: 2" in (summary.text or "")
    assert "Manufacturing: 1" in (summary.text or "")
    assert (document.document or "").endswith(".xlsx")
    await staff.send("/staff add 9003 admin")  # staff, not admin
    assert staff.last().text == ADMINS_ONLY
    with Session(engine) as session:
        assert role_of(session, STAFF) == "staff"
        assert role_of(session, 9003) is None
        (entry,) = audit_entries(session, action="role.add")
    assert (entry.actor, entry.detail) == (str(ADMIN), "staff")


async def test_user_ids_in_other_digits_or_out_of_range_are_refused_politely(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    seed_admin_roles(engine, [ADMIN])
    admin = Person(fake, ADMIN)
    for given in ("²³", "99999999999999999999", "١٢٣", "-5", "0", "4503599627370496"):
        await admin.send(f"/staff add {given} admin")
        assert (admin.last().text or "").startswith(BAD_USER_ID), given
    await admin.send("/staff remove ١٢٣")
    assert (admin.last().text or "").startswith(BAD_USER_ID)
    await admin.send("/staff add 4503599627370495 analyst")  # 2**52 - 1, the largest id
    assert admin.last().text == "4503599627370495 is now analyst."
    with Session(engine) as session:
        assert role_of(session, 123) is None
        assert role_of(session, 23) is None
        assert [entry.detail for entry in audit_entries(session, action="role.add")] == ["analyst"]


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


async def test_an_invite_shows_no_list_data_and_links_its_first_consenter_once(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    token = new_invite_token()
    listed = RosterEntry(
        organisation="Fen Bakery",
        contact_name="Anna Baker",
        email="anna@fenbakery.example",
        phone="01354 000000",
        notes="owes the chamber a call",
    )
    with Session(engine) as session, session.begin():
        import_roster(session, entries=[listed], now=utcnow())
        (invite,) = issue_invites(session, new_token=lambda: token, now=utcnow())
    secrets = ("Fen Bakery", "Anna", "anna@", "01354", "owes the chamber")

    def entry() -> Employer:
        with Session(engine) as session:
            row = session.get(Employer, invite.employer_id)
            assert row is not None
            return row

    def shown(person: Person) -> str:
        return "\n".join(texts(person))

    nosy = Person(fake, 5006)  # holds the link, says nothing to the consent question
    await nosy.send(f"/start {token}")
    await nosy.send("/myanswers")
    assert not any(secret in shown(nosy) for secret in secrets), shown(nosy)
    assert entry().telegram_user_id is None
    anna = Person(fake, 5005)
    await anna.send(f"/start {token}")
    assert entry().telegram_user_id is None  # not before consent
    await anna.tap("Yes, I agree")
    linked = entry()
    assert (linked.telegram_user_id, linked.status) == (5005, "started")
    await anna.send("Fen Bakery Ltd")
    await anna.send("/myanswers")
    assert "Fen Bakery Ltd" in shown(anna)
    assert not any(secret in shown(anna) for secret in secrets[1:]), shown(anna)
    await nosy.tap("Yes, I agree")  # too late: the entry is Anna's
    late = Person(fake, 5007)
    await late.send(f"/start {token}")
    await late.tap("Yes, I agree")
    await late.send("/myanswers")
    assert not any(secret in shown(late) for secret in secrets), shown(late)
    assert entry().telegram_user_id == 5005
    with Session(engine) as session:
        responses = session.exec(select(Response)).all()
        owners = {r.employer_id: session.get(Employer, r.employer_id) for r in responses}
        dump = repr([*responses, *owners.values()])
    assert {r.source for r in responses} == {INVITE_SOURCE}
    assert len(responses) == 3
    assert [r.employer_id for r in responses].count(invite.employer_id) == 1
    assert {owner.telegram_user_id for owner in owners.values() if owner} == {5005, 5006, 5007}
    assert token not in dump  # neither the token in a source nor on an employer row
    stranger = Person(fake, 5008)  # an event's name is a source; a stale token is not
    await stranger.send("/start ws-fenland-2026")
    await Person(fake, 5009).send("/start " + new_invite_token())
    with Session(engine) as session:
        sources = session.exec(select(Response.source).order_by(col(Response.id))).all()
    assert sources[-2:] == ["ws-fenland-2026", INVITE_SOURCE]


async def test_staff_commands_are_read_in_any_case_and_with_a_mention(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine
) -> None:
    """A phone's keyboard capitalises "/List"; a command may name the bot ("/help@bot"):
    both libraries read them as the core does (`parse_command`), not as unknown commands or
    as an employer's /start."""
    seed_admin_roles(engine, [ADMIN])
    admin = Person(fake, ADMIN)
    await admin.send("/Start")
    assert (admin.last().text or "").startswith("Hello! You are an admin"), admin.transcript()
    await admin.send("/STAFF")
    assert str(ADMIN) in (admin.last().text or ""), admin.transcript()
    await admin.send("/List")
    assert (admin.last().text or "").startswith("Nobody is on the employer list yet"), (
        admin.transcript()
    )
    await admin.send("/Help@skillsbot_test_bot")
    assert "/list" in (admin.last().text or ""), admin.transcript()
    with Session(engine) as session:  # no interview began: /Start was the staff's
        assert session.exec(select(Response)).all() == []
