"""The employer list: bulk import, invites, linking a Telegram account, listing."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlmodel import Session, col, select

from conversations.state import InterviewState
from storage import (
    Employer,
    Engine,
    Response,
    employer_for_telegram,
    erase_employer,
    get_employer,
    latest_response,
    make_engine,
    record_consent,
    start_response,
    upgrade,
)
from storage.db import MIGRATIONS_DIRECTORY
from storage.roster import (
    RosterEntry,
    employer_listing,
    import_roster,
    invite_entry,
    issue_invites,
    link_pending_invite,
    open_invite,
    sector_counts,
    status_counts,
    token_hash,
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


def test_invites_store_only_hashes_and_issuing_again_gives_new_links(engine: Engine) -> None:
    new_token = _token_factory()
    with Session(engine) as session, session.begin():
        import_roster(session, entries=[BAKERY, BUILDERS], now=NOW)
        invites = issue_invites(session, new_token=new_token, now=NOW)
    assert sorted(i.token for i in invites) == ["tok0001", "tok0002"]
    with Session(engine) as session, session.begin():
        stored = {e.invite_token_hash for e in employer_listing(session)}
        assert stored == {token_hash("tok0001"), token_hash("tok0002")}
        assert issue_invites(session, new_token=new_token, now=LATER) == []
        again = issue_invites(session, statuses=["invited"], new_token=new_token, now=LATER)
        assert sorted(i.token for i in again) == ["tok0003", "tok0004"]  # new links
        assert status_counts(session)["invited"] == 2
        assert invite_entry(session, token="tok0001") is None  # the old link is void
        assert invite_entry(session, token="tok0003") is not None


def test_an_import_takes_nul_characters_out_of_text(engine: Engine) -> None:
    with_nul = RosterEntry(organisation="Fen\x00 Bakery", notes="call\x00 after 2pm")
    with Session(engine) as session, session.begin():  # PostgreSQL refuses a NUL in text
        import_roster(session, entries=[with_nul], now=NOW)
    with Session(engine) as session, session.begin():
        (employer,) = employer_listing(session)
        assert (employer.organisation, employer.notes) == ("Fen Bakery", "call after 2pm")
        import_roster(session, entries=[RosterEntry("Fen Bakery", phone="0\x001")], now=LATER)
        assert employer_listing(session)[0].phone == "01"


def _opened(session: Session, user_id: int, token: str) -> Employer:
    own = employer_for_telegram(session, telegram_user_id=user_id, chat_id=user_id, now=NOW)
    return open_invite(session, employer=own, token=token, now=NOW)


def _consents(session: Session, employer: Employer) -> Employer:
    record_consent(session, employer=employer, version="1", now=LATER)
    return link_pending_invite(session, employer=employer, now=LATER)


def test_an_opened_invite_links_only_after_consent_and_only_once(engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        import_roster(session, entries=[BAKERY], now=NOW)
        (invite,) = issue_invites(session, new_token=lambda: "secret-token", now=NOW)
        opener = _opened(session, 501, "secret-token")
        assert opener.id != invite.employer_id  # nothing of the list before consent
        assert opener.email is None
        assert opener.organisation is None
        other = _opened(session, 777, "secret-token")  # a forwarded link, opened too
        linked = _consents(session, opener)
        assert linked.id == invite.employer_id
        assert linked.telegram_user_id == 501
        assert linked.email == "Anna@FenBakery.example"  # kept for staff, on the entry
        assert _consents(session, other).id not in (None, invite.employer_id)  # neutral
        late = _opened(session, 888, "secret-token")  # after the first consent
        assert late.pending_invite_hash is None
        assert _consents(session, late).id != invite.employer_id
        assert _opened(session, 999, "nope").pending_invite_hash is None
        mine = employer_for_telegram(session, telegram_user_id=501, chat_id=501, now=LATER)
        assert mine.id == invite.employer_id


def test_a_declined_or_silent_opener_never_links(engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        import_roster(session, entries=[BAKERY], now=NOW)
        (invite,) = issue_invites(session, new_token=lambda: "tok-bakery", now=NOW)
        opener = _opened(session, 501, "tok-bakery")
        assert link_pending_invite(session, employer=opener, now=LATER).id == opener.id
        entry = get_employer(session, employer_id=invite.employer_id)
        assert entry is not None
        assert entry.telegram_user_id is None


def test_one_who_consented_before_is_linked_when_opening_the_invite(engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        import_roster(session, entries=[BAKERY], now=NOW)
        (invite,) = issue_invites(session, new_token=lambda: "tok-bakery", now=NOW)
        own = employer_for_telegram(session, telegram_user_id=600, chat_id=600, now=NOW)
        assert own.id is not None
        record_consent(session, employer=own, version="1", now=NOW)
        response = start_response(
            session,
            employer_id=own.id,
            interview_id="lsip",
            interview_version="1",
            state=InterviewState(
                "lsip", "1", answers={"org_name": "Fen Bakery Limited", "sector": "manufacturing"}
            ),
            source=None,
            now=NOW,
            profile={"org_name": "organisation", "sector": "sector"},
        )
        own_id = own.id
    with Session(engine, expire_on_commit=False) as session, session.begin():
        own = get_employer(session, employer_id=own_id)
        assert own is not None
        linked = open_invite(session, employer=own, token="tok-bakery", now=LATER)
        assert linked.id == invite.employer_id
        assert get_employer(session, employer_id=own_id) is None
        moved = latest_response(session, employer_id=invite.employer_id)
        assert moved is not None
        assert moved.id == response.id
        assert linked.organisation == "Fen Bakery Limited"  # their own answer wins
        assert linked.email == "Anna@FenBakery.example"  # the list's contact stays
        assert linked.status == "started"  # further than "invited"
        assert linked.telegram_user_id == 600
        assert linked.consent_at is not None


def test_a_list_entry_never_merges_into_another(engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        import_roster(session, entries=[BAKERY, BUILDERS], now=NOW)
        issue_invites(session, new_token=_token_factory(), now=NOW)
        first = _consents(session, _opened(session, 501, "tok0001"))
        assert first.invite_token_hash == token_hash("tok0001")
        again = open_invite(session, employer=first, token="tok0002", now=LATER)
        assert again.id == first.id
        assert len(employer_listing(session)) == 2


def test_erased_employers_cannot_be_linked_or_listed(engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        import_roster(session, entries=[BAKERY], now=NOW)
        (invite,) = issue_invites(session, new_token=lambda: "tok-gone", now=NOW)
        employer = get_employer(session, employer_id=invite.employer_id)
        assert employer is not None
        erase_employer(session, employer=employer, now=LATER)
        assert invite_entry(session, token="tok-gone") is None
        assert employer_listing(session) == []
        assert _consents(session, _opened(session, 9, "tok-gone")).id != invite.employer_id
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
    # A guard against row-by-row round trips (minutes), not a speed figure: generous, so a
    # loaded machine does not fail it.
    assert time.perf_counter() - started < 30


def test_the_migration_hashes_plain_tokens_and_takes_them_out_of_sources(
    database_url: str,
) -> None:
    plain = "AbCdEfGhIjKlMnOpQrStUvWxYz012345"  # a token as 0001-0005 stored it
    orphan = "ZyXwVuTsRqPoNmLkJiHgFeDcBa987654"  # of an erased entry: in a source only
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIRECTORY))
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0005")
            connection.execute(
                text(
                    "INSERT INTO employer (id, status, invite_token, created_at, updated_at)"
                    " VALUES (1, 'invited', :token, :now, :now), (2, 'listed', NULL, :now, :now)"
                ),
                {"token": plain, "now": NOW},
            )
            connection.execute(
                text(
                    "INSERT INTO response (id, employer_id, interview_id, interview_version,"
                    " status, state, source, started_at, updated_at) VALUES"
                    " (1, 2, 'lsip', '1', 'in_progress', '{}', :plain, :now, :now),"
                    " (2, 2, 'lsip', '1', 'in_progress', '{}', :orphan, :now, :now),"
                    " (3, 2, 'lsip', '1', 'in_progress', '{}', 'c-ely-jobs-fair', :now, :now),"
                    " (4, 2, 'lsip', '1', 'in_progress', '{}', 'ws-fenland-2026', :now, :now)"
                ),
                {"plain": plain, "orphan": orphan, "now": NOW},
            )
        upgrade(engine)
        with Session(engine) as session:
            assert invite_entry(session, token=plain) is not None  # the sent link still works
            employers = session.exec(select(Employer).order_by(col(Employer.id)))
            hashes = [e.invite_token_hash for e in employers]
            sources = [r.source for r in session.exec(select(Response).order_by(col(Response.id)))]
        assert hashes == [token_hash(plain), None]
        assert sources == ["invite", "invite", "c-ely-jobs-fair", "ws-fenland-2026"]
    finally:
        engine.dispose()


def test_of_two_consenting_through_one_link_at_once_only_the_first_is_linked(
    engine: Engine,
) -> None:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        import_roster(session, entries=[BAKERY], now=NOW)
        (invite,) = issue_invites(session, new_token=lambda: "tok-race", now=NOW)
        first_id, second_id = (_opened(session, user, "tok-race").id for user in (701, 702))
    second: dict[str, int | None] = {}

    def consent_of(employer_id: int | None) -> int | None:
        with Session(engine) as session, session.begin():
            own = get_employer(session, employer_id=employer_id or 0)
            assert own is not None
            return _consents(session, own).id

    def the_second_consents() -> None:
        second["id"] = consent_of(second_id)

    with Session(engine) as session, session.begin():
        own = get_employer(session, employer_id=first_id or 0)
        assert own is not None
        assert _consents(session, own).id == invite.employer_id  # not committed yet
        racer = threading.Thread(target=the_second_consents)
        racer.start()
        racer.join(0.5)
        assert racer.is_alive()  # waits for the first transaction
    racer.join(30)
    assert second["id"] == second_id  # the entry was taken: they stay themselves
    with Session(engine) as session:
        entry = get_employer(session, employer_id=invite.employer_id)
        assert entry is not None
        assert entry.telegram_user_id == 701
