"""The employer list: bulk import, invites, linking a Telegram account, listing."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from storage import (
    Engine,
    employer_for_telegram,
    erase_employer,
    get_employer,
    latest_response,
    start_response,
)
from storage.roster import (
    RosterEntry,
    employer_listing,
    import_roster,
    issue_invites,
    link_invite,
    sector_counts,
    status_counts,
)

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
LATER = NOW + timedelta(days=1)


def _token_factory() -> Callable[[], str]:
    numbers = itertools.count(1)
    return lambda: f"tok{next(numbers):04d}"


BAKERY = RosterEntry(
    organisation="Fen Bakery",
    email="Anna@FenBakery.example",
    sector="manufacturing",
    district="E07000010",
    size_band="10-24",
)
BUILDERS = RosterEntry(organisation="Ely Builders", district="E07000009", sector="construction")


def test_import_adds_then_updates_instead_of_duplicating(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        assert import_roster(session, entries=[BAKERY, BUILDERS], now=NOW).added == 2
    again = [
        RosterEntry(
            organisation="Fen Bakery Ltd", email="anna@fenbakery.example", phone="01354 000000"
        ),
        RosterEntry(organisation="ely  builders", district="E07000009", notes="call after 2pm"),
        RosterEntry(organisation="Ely Builders", district="E07000008"),  # another district: new
    ]
    with Session(engine) as session, session.begin():
        outcome = import_roster(session, entries=again, now=LATER)
    assert (outcome.added, outcome.updated) == (1, 2)
    with Session(engine) as session:
        listing = employer_listing(session)
    assert sorted((e.organisation, e.district) for e in listing) == [
        ("Ely Builders", "E07000008"),
        ("Fen Bakery Ltd", "E07000010"),
        ("ely  builders", "E07000009"),
    ]
    bakery = next(e for e in listing if e.email)
    assert bakery.phone == "01354 000000"
    assert bakery.sector == "manufacturing"  # blank in the second file: kept
    assert bakery.email == "anna@fenbakery.example"
    assert bakery.updated_at == LATER
    assert bakery.created_at == NOW
    assert {e.status for e in listing} == {"listed"}


def test_invites_get_unique_tokens_once_and_mark_invited(engine: Engine) -> None:
    new_token = _token_factory()
    with Session(engine) as session, session.begin():
        import_roster(session, entries=[BAKERY, BUILDERS], now=NOW)
        invites = issue_invites(session, new_token=new_token, now=NOW)
    assert sorted(i.token for i in invites) == ["tok0001", "tok0002"]
    with Session(engine) as session, session.begin():
        assert issue_invites(session, new_token=new_token, now=LATER) == []
        again = issue_invites(session, statuses=["invited"], new_token=new_token, now=LATER)
        assert sorted(i.token for i in again) == ["tok0001", "tok0002"]  # same tokens
        assert status_counts(session)["invited"] == 2


def test_invite_link_attaches_the_telegram_account(engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        import_roster(session, entries=[BAKERY], now=NOW)
        (invite,) = issue_invites(session, new_token=lambda: "secret-token", now=NOW)
        linked = link_invite(
            session, token="secret-token", telegram_user_id=501, chat_id=501, now=LATER
        )
        assert linked is not None
        assert linked.id == invite.employer_id
        assert (
            link_invite(session, token="nope", telegram_user_id=501, chat_id=501, now=LATER) is None
        )
        # the same person again: fine; somebody else with a forwarded link: not linked
        assert (
            link_invite(session, token="secret-token", telegram_user_id=501, chat_id=501, now=LATER)
            is not None
        )
        assert (
            link_invite(session, token="secret-token", telegram_user_id=777, chat_id=777, now=LATER)
            is None
        )
        mine = employer_for_telegram(session, telegram_user_id=501, chat_id=501, now=LATER)
        assert mine.id == invite.employer_id
        assert mine.email == "Anna@FenBakery.example"


def test_linking_merges_an_earlier_self_started_employer(engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        import_roster(session, entries=[BAKERY], now=NOW)
        (invite,) = issue_invites(session, new_token=lambda: "tok-bakery", now=NOW)
        own = employer_for_telegram(session, telegram_user_id=600, chat_id=600, now=NOW)
        assert own.id is not None
        response = start_response(
            session,
            employer_id=own.id,
            interview_id="lsip",
            interview_version="1",
            state={
                "interview_id": "lsip",
                "version": "1",
                "status": "in_progress",
                "answers": {"org_name": "Fen Bakery Limited", "sector": "manufacturing"},
            },
            source=None,
            now=NOW,
        )
        own_id = own.id
    with Session(engine, expire_on_commit=False) as session, session.begin():
        linked = link_invite(
            session, token="tok-bakery", telegram_user_id=600, chat_id=600, now=LATER
        )
        assert linked is not None
        assert linked.id == invite.employer_id
        assert get_employer(session, employer_id=own_id) is None
        moved = latest_response(session, employer_id=invite.employer_id)
        assert moved is not None
        assert moved.id == response.id
        assert linked.organisation == "Fen Bakery Limited"  # their own answer wins
        assert linked.email == "Anna@FenBakery.example"  # the list's contact stays
        assert linked.status == "started"  # further than "invited"
        assert linked.telegram_user_id == 600


def test_erased_employers_cannot_be_linked_or_listed(engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        import_roster(session, entries=[BAKERY], now=NOW)
        (invite,) = issue_invites(session, new_token=lambda: "tok-gone", now=NOW)
        employer = get_employer(session, employer_id=invite.employer_id)
        assert employer is not None
        erase_employer(session, employer=employer, now=LATER)
        assert (
            link_invite(session, token="tok-gone", telegram_user_id=9, chat_id=9, now=LATER) is None
        )
        assert employer_listing(session) == []
        counts = status_counts(session)
        assert (counts["opted_out"], counts["erased"]) == (0, 1)  # counted apart


def test_listing_filters_and_counts(engine: Engine) -> None:
    entries = [
        BAKERY,
        BUILDERS,
        RosterEntry(organisation="Wisbech Bricks", sector="construction", district="E07000010"),
        RosterEntry(organisation="Mystery Ltd"),
    ]
    with Session(engine) as session, session.begin():
        import_roster(session, entries=entries, now=NOW)
        issue_invites(session, new_token=_token_factory(), now=NOW)
    with Session(engine) as session:
        assert [e.organisation for e in employer_listing(session, sector="construction")] == [
            "Ely Builders",
            "Wisbech Bricks",
        ]
        assert [e.organisation for e in employer_listing(session, district="E07000010")] == [
            "Fen Bakery",
            "Wisbech Bricks",
        ]
        assert employer_listing(session, status="started") == []
        counts = status_counts(session)
        assert list(counts)[:3] == ["listed", "invited", "started"]
        assert counts["invited"] == 4
        assert counts["listed"] == 0
        assert sector_counts(session) == {"construction": 2, "manufacturing": 1, None: 1}


def test_ten_thousand_rows_import_in_bulk(engine: Engine) -> None:
    entries = [
        RosterEntry(
            organisation=f"Firm {n}",
            email=f"owner{n}@firm{n}.example",
            sector="construction",
            district="E07000008",
            size_band="2-4",
        )
        for n in range(10_000)
    ]
    started = time.perf_counter()
    with Session(engine) as session, session.begin():
        assert import_roster(session, entries=entries, now=NOW).added == 10_000
    with Session(engine) as session, session.begin():
        assert import_roster(session, entries=entries, now=LATER).updated == 10_000
    assert time.perf_counter() - started < 8
