"""Who may be messaged, end to end through the fake Bot API: a broadcast, a reminder run and
a round's invitations reach each consenting employer exactly once, carry "No more
messages", and reach nobody who declined, was erased, opted out, blocked the bot or is
staff; someone who never answered gets invitations and reminders up to the maximum, then
nothing. The staff preview counts who is left out and why; after /forget and later
messages, no table holds anything that identifies the person."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Collection
from datetime import timedelta

import pytest
from sqlalchemy import MetaData
from sqlmodel import SQLModel, select
from typer.testing import CliRunner

from bot.cli import app
from bot.core.interview_copy import MESSAGES_AGAIN, NOTHING_HELD, OPTED_IN, OPTED_OUT
from bot.devtools.fake_telegram import FakeTelegram
from bot.runtime.app import EmployerBot
from conversations.definition import Interview
from storage import Employer, Engine, Response, Session, chat_transaction, utcnow
from storage.broadcast_models import Broadcast
from storage.broadcasts import create_broadcast
from storage.followups import open_round
from storage.roster import RosterEntry, import_roster, issue_invites
from storage.staff import audit_entries, set_role
from tests.e2e.conftest import Employer as Person

pytestmark = pytest.mark.slow

NEWS = "Apprenticeship fair at the Corn Exchange, Tuesday"
SENDS = {"sendmessage", "sendphoto", "senddocument"}
KINDS = ("broadcast", "reminder", "round_invite")


def sends(fake: FakeTelegram, since: int, users: Collection[int]) -> Counter[int]:
    """Messages the bot tried to send to each of `users` since request number `since`
    (refused ones too: an attempt is what the policy must prevent)."""
    return Counter(
        r.chat_id for r in fake.requests[since:] if r.method.lower() in SENDS and r.chat_id in users
    )


async def broadcast(bot: EmployerBot, engine: Engine, text: str = NEWS) -> None:
    """A broadcast to everyone, sent to the end (the bot's own watcher may share the work)."""
    with Session(engine) as session, session.begin():
        row = create_broadcast(session, text=text, segment={}, created_by="cli:test", now=utcnow())
        broadcast_id = row.id
    assert broadcast_id is not None
    await bot.broadcaster.run(broadcast_id)
    for _ in range(300):
        with Session(engine) as session:
            done = session.get(Broadcast, broadcast_id)
            if done is not None and done.status == "done":
                return
        await asyncio.sleep(0.05)
    raise AssertionError("the broadcast did not finish")


async def outreach(
    bot: EmployerBot,
    engine: Engine,
    fake: FakeTelegram,
    interview: Interview,
    users: set[int],
    days: int = 30,
) -> dict[str, Counter[int]]:
    """One broadcast to everyone, one reminder run `days` from now (a second reminder goes
    only 3 days after the first), one new round: who was sent what."""
    sent: dict[str, Counter[int]] = {}
    start = len(fake.requests)
    await broadcast(bot, engine)
    sent["broadcast"] = sends(fake, start, users)
    start = len(fake.requests)
    await bot.follow_ups.plan(now=utcnow())
    policy = bot.follow_ups.policy  # at a time reminders and invitations may go
    await bot.follow_ups.dispatch_due(now=policy.allowed_time(utcnow() + timedelta(days=days)))
    sent["reminder"] = sends(fake, start, users)
    start = len(fake.requests)
    with Session(engine) as session, session.begin():
        open_round(
            session,
            name=f"Round {start}",
            interview_id=interview.id,
            interview_version=interview.version,
            interview_path=None,
            segment={},
            opened_by="cli:test",
            now=utcnow(),
            max_unanswered=bot.follow_ups.policy.max_reminders,
        )
    await bot.follow_ups.dispatch_due(now=policy.allowed_time(utcnow()))
    sent["round_invite"] = sends(fake, start, users)
    return sent


async def consenting(person: Person, start: str = "/start") -> None:
    await person.send(start)
    await person.tap("Yes, I agree")
    await person.send("Acme Widgets Ltd")


def grant_staff(engine: Engine, user_id: int) -> None:
    with chat_transaction(engine, user_id) as session:
        set_role(session, telegram_user_id=user_id, role="staff", added_by="test", now=utcnow())


async def test_only_consenting_employers_are_messaged_each_exactly_once(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine, interview: Interview
) -> None:
    ann, ben, cat, dan, eve, fay, gus = (Person(fake, uid) for uid in range(7101, 7108))
    await consenting(ann)  # consents and answers: the one who may be messaged
    await ben.send("/start")
    await ben.tap("No")  # declined the privacy notice
    await ben.send("hello")  # a word afterwards starts nothing
    await consenting(cat)
    await cat.send("/forget")
    await cat.tap("Erase my answers")  # erased, then writes again
    await cat.send("/myanswers")
    assert cat.last().text == NOTHING_HELD
    await cat.send("hello")
    await consenting(dan)
    await dan.send("/help")
    await dan.tap("No more messages")  # opted out from the setting in /help
    assert dan.last().text == OPTED_OUT
    await consenting(eve)
    fake.block(eve.user_id, notify=True)  # blocked the bot
    await fake.wait_until(lambda: fake.pending_updates == 0, timeout=15)
    grant_staff(engine, fay.user_id)
    await consenting(fay, "/start try")  # a staff member trying the interview
    await gus.send("/start")  # pressed Start, never answered
    users = {p.user_id for p in (ann, ben, cat, dan, eve, fay, gus)}

    # The staff preview says how many are left out, and why.
    await fay.send("/broadcast")
    await fay.send(NEWS)
    await fay.tap("Everyone reachable")
    preview = fay.last().text or ""
    assert "Send it to 1 employer(s) (everyone)?" in preview
    for part in (
        "1 erased at their request",
        "1 staff, analysts and admins",
        "1 declined the privacy notice",
        "1 opted out of messages",
        "1 unreachable (blocked the bot)",
        "1 not yet agreed to the privacy notice",
    ):
        assert part in preview, preview
    await fay.tap("Cancel")

    first = await outreach(running_bot, engine, fake, interview, users)
    expected = {
        "broadcast": {ann.user_id: 1},
        "reminder": {ann.user_id: 1, gus.user_id: 1},
        "round_invite": {ann.user_id: 1, gus.user_id: 1},
    }
    assert {kind: dict(first[kind]) for kind in KINDS} == expected
    news, reminder, invitation = ann.messages()[-3:]
    for message in (news, reminder, invitation):
        assert "No more messages" in ann.labels(message), message.describe()
    with Session(engine) as session:
        (test_run,) = session.exec(
            select(Response).join(Employer).where(Employer.telegram_user_id == fay.user_id)
        ).all()
        assert test_run.test is True
        assert (
            session.exec(select(Employer).where(Employer.telegram_user_id == cat.user_id)).all()
            == []
        )

    # Never answered: invitations and reminders up to the maximum (2), then nothing.
    later = [
        await outreach(running_bot, engine, fake, interview, {gus.user_id}, days=days)
        for days in (40, 50)
    ]
    totals = Counter({kind: first[kind][gus.user_id] for kind in KINDS})
    for sent in later:
        totals.update({kind: sent[kind][gus.user_id] for kind in KINDS})
    assert dict(totals) == {"broadcast": 0, "reminder": 2, "round_invite": 2}

    # One tap on the news opts Ann out, with a time and an audit row; /start takes it back.
    await ann.tap("No more messages", news)
    assert ann.last().text == OPTED_OUT
    dan_row = employer_id(engine, dan.user_id)
    with Session(engine) as session:
        (row,) = session.exec(select(Employer).where(Employer.telegram_user_id == ann.user_id))
        assert row.opted_out_at is not None
        assert row.status == "opted_out"
        assert [e.detail for e in audit_entries(session, action="employer.opt_out")] == [
            f"employer {row.id}",
            f"employer {dan_row}",
        ]
    start = len(fake.requests)
    await broadcast(running_bot, engine)
    assert sends(fake, start, users) == Counter()
    await ann.send("/start")
    assert MESSAGES_AGAIN in [m.text for m in ann.messages()[-3:]]
    await dan.send("/help")  # Dan takes it back with the setting in /help
    await dan.tap("Send me messages again")
    assert dan.last().text == OPTED_IN
    start = len(fake.requests)
    await broadcast(running_bot, engine)
    assert sends(fake, start, users) == Counter({ann.user_id: 1, dan.user_id: 1})
    with Session(engine) as session:
        assert len(audit_entries(session, action="employer.opt_in")) == 2


def employer_id(engine: Engine, user_id: int) -> int | None:
    with Session(engine) as session:
        row = session.exec(select(Employer).where(Employer.telegram_user_id == user_id)).one()
        return row.id


async def test_after_forget_and_later_messages_no_table_holds_their_identifiers(
    running_bot: EmployerBot, fake: FakeTelegram, engine: Engine, interview: Interview
) -> None:
    user_id = 5_550_123_987
    with Session(engine) as session, session.begin():
        entry = RosterEntry(
            organisation="Quillfeather Joinery",
            contact_name="Rosalind Penhaligon",
            email="rosalind@quillfeather.example",
            phone="01353 987654",
            sector="construction",
            district="E07000009",
        )
        import_roster(session, entries=[entry], now=utcnow())
        (invite,) = issue_invites(session, new_token=lambda: "tok-quill-7781", now=utcnow())
    rosalind = Person(fake, user_id)
    await rosalind.send(f"/start {invite.token}")
    await rosalind.tap("Yes, I agree")
    await rosalind.send("Quillfeather Joinery")
    await running_bot.follow_ups.plan(now=utcnow())
    # A month on, at a moment reminders may go (outside quiet hours and weekends: the test
    # runs at any hour).
    later = running_bot.follow_ups.policy.allowed_time(utcnow() + timedelta(days=30))
    await running_bot.follow_ups.dispatch_due(now=later)
    await broadcast(running_bot, engine)
    (reminder,) = [m for m in rosalind.messages() if "Continue" in rosalind.labels(m)]
    await rosalind.send("/forget")
    await rosalind.tap("Erase my answers")
    # Afterwards: every kind of message, none of which may store anything about her.
    await rosalind.send("/myanswers")
    assert rosalind.last().text == NOTHING_HELD
    for text in ("hello", "/help", "/stop", "/review", "/forget", "/nonsense"):
        await rosalind.send(text)
    await rosalind.do(lambda fake, uid: fake.send_sticker(uid))
    await rosalind.press_data("fu:s:1", rosalind.messages()[-1])  # an old No more messages
    await rosalind.tap("Continue", reminder)  # an old reminder's Continue starts nothing
    assert rosalind.last().text == NOTHING_HELD
    identifiers = [
        str(user_id),
        "Quillfeather",
        "Rosalind",
        "Penhaligon",
        "rosalind@quillfeather.example",
        "01353 987654",
        "tok-quill-7781",
    ]
    with engine.connect() as connection:
        tables = MetaData()
        tables.reflect(connection)  # every table the database has, not only our models'
        assert set(SQLModel.metadata.tables) < set(tables.tables)
        for table in tables.sorted_tables:
            for row in connection.execute(table.select()):
                dumped = " ".join(str(value) for value in row)
                for identifier in identifiers:
                    assert identifier not in dumped, (table.name, identifier)


def test_broadcast_dry_run_counts_who_is_left_out_and_why(
    engine: Engine, database_url: str
) -> None:
    now = utcnow()
    with Session(engine) as session, session.begin():
        for uid, fields in (
            (1, {}),
            (2, {"status": "declined", "consent_at": None}),
            (3, {"status": "opted_out", "opted_out_at": now}),
            (4, {"status": "unreachable"}),
        ):
            values = {
                "telegram_user_id": uid,
                "chat_id": uid,
                "status": "started",
                "consent_at": now,
                "created_at": now,
                "updated_at": now,
                **fields,
            }
            session.add(Employer(**values))  # type: ignore[arg-type]
    env = {"DATABASE_URL": database_url, "TELEGRAM_BOT_TOKEN": ""}
    result = CliRunner().invoke(app, ["broadcast", "send", "--text", NEWS, "--dry-run"], env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        "Would send to 1 employer(s) (everyone); left out: 1 declined the privacy notice, "
        "1 opted out of messages, 1 unreachable (blocked the bot)."
    )
    with Session(engine) as session:
        assert session.exec(select(Broadcast)).all() == []
