"""Engines, migrations and stored times, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlmodel import Session, SQLModel

from storage import (
    InvalidDatabaseURL,
    chat_transaction,
    claim_update,
    current_revision,
    db,
    employer_for_telegram,
    head_revision,
    make_engine,
    normalise_url,
    pending_migrations,
    upgrade,
    utcnow,
)
from storage.broadcasts import draft_of, drop_draft, save_draft


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u:p@db.example/skills", "postgresql+psycopg://u:p@db.example/skills"),
        ("postgresql://u@db.example:5433/skills", "postgresql+psycopg://u@db.example:5433/skills"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
        ("sqlite:///./skillsbot.db", "sqlite:///./skillsbot.db"),
        ("sqlite://", "sqlite://"),
    ],
)
def test_urls_are_normalised_to_our_drivers(url: str, expected: str) -> None:
    assert normalise_url(url).render_as_string(hide_password=False) == expected


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "mysql://u:secret@h/d",
        "postgresql+asyncpg://u:secret@h/d",
        "postgres://h",
        "postgresql://u:secret@h:notaport/d",
        "postgresql://u:secret@h:/d",
        "postgresql://u:secret@h:65536/d",
    ],
)
def test_malformed_urls_are_refused_without_echoing_secrets(url: str) -> None:
    with pytest.raises(InvalidDatabaseURL, match="DATABASE_URL") as caught:
        normalise_url(url)
    assert "secret" not in str(caught.value)


def test_sqlite_engine_is_set_up_for_concurrent_writers(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/pragmas.db")
    try:
        with engine.connect() as connection:
            pragma = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
            }
    finally:
        engine.dispose()
    assert pragma == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": 30000,
        "synchronous": 1,
    }


def test_migrations_apply_from_empty_and_are_idempotent(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        assert current_revision(engine) is None
        assert pending_migrations(engine)
        assert upgrade(engine) == head_revision()
        assert upgrade(database_url) == head_revision()  # again, from a URL
        assert not pending_migrations(engine)
        tables = set(inspect(engine).get_table_names())
        assert {"employer", "response", "answer", "inbox_update"} <= tables
        assert "processed_update" not in tables  # the inbox records handled updates
    finally:
        engine.dispose()


def test_models_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_answers_are_deleted_with_their_response(engine: Engine) -> None:
    now = utcnow()
    with Session(engine) as session, session.begin():
        employer = employer_for_telegram(session, telegram_user_id=1, chat_id=1, now=now)
        session.execute(
            text(
                "INSERT INTO response (employer_id, interview_id, interview_version, status,"
                " state, started_at, updated_at) VALUES (:e, 'i', '1', 'in_progress', '{}',"
                " :now, :now)"
            ),
            {"e": employer.id, "now": now},
        )
        session.execute(
            text(
                "INSERT INTO answer (response_id, question_id, answered_at)"
                " SELECT id, 'q', :now FROM response"
            ),
            {"now": now},
        )
    with Session(engine) as session, session.begin():
        session.execute(text("DELETE FROM response"))
        assert session.execute(text("SELECT count(*) FROM answer")).scalar() == 0


def test_times_come_back_aware_utc(engine: Engine) -> None:
    london_summer = datetime(2025, 7, 1, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    with Session(engine, expire_on_commit=False) as session, session.begin():
        employer = employer_for_telegram(session, telegram_user_id=7, chat_id=7, now=london_summer)
    with Session(engine) as session:
        stored = employer_for_telegram(session, telegram_user_id=7, chat_id=7, now=utcnow())
        assert stored.created_at == datetime(2025, 7, 1, 9, 30, tzinfo=UTC)
        assert stored.created_at.tzinfo == UTC
        assert employer.id == stored.id


def test_naive_times_are_refused(engine: Engine) -> None:
    with Session(engine) as session, pytest.raises(Exception, match="naive datetime"):
        employer_for_telegram(
            session,
            telegram_user_id=8,
            chat_id=8,
            now=datetime(2025, 1, 1),  # noqa: DTZ001  (the mistake under test)
        )


def test_0008a_carries_handled_updates_into_the_inbox_and_back(database_url: str) -> None:
    """processed_update's rows become inbox rows marked handled (done rows for ids the inbox
    never saw); the downgrade brings the table back from them."""
    engine = make_engine(database_url)
    at = "2026-12-01 10:00:00"
    try:
        assert db.upgrade(engine, "0007c") == "0007c"
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO processed_update (update_id, chat_id, processed_at)"
                    " VALUES (1, 5, :at), (2, 6, :at)"
                ),
                {"at": at},
            )
            connection.execute(
                text(
                    "INSERT INTO inbox_update (update_id, chat_key, received_at, status,"
                    " attempts) VALUES (2, 6, :at, 'pending', 1), (3, 7, :at, 'pending', 0)"
                ),
                {"at": at},
            )
        assert db.upgrade(engine) == head_revision()
        query = "SELECT update_id, status, handled_at IS NOT NULL FROM inbox_update ORDER BY 1"
        with engine.connect() as connection:
            rows = [tuple(row) for row in connection.execute(text(query))]
        assert rows == [(1, "done", True), (2, "pending", True), (3, "pending", False)]
        assert "processed_update" not in inspect(engine).get_table_names()
        # Handled before: a claim changes nothing; the one not handled yet is claimed.
        with chat_transaction(engine, 7) as session:
            assert not claim_update(session, update_id=1, chat_id=5, now=utcnow())
            assert claim_update(session, update_id=3, chat_id=7, now=utcnow())
        assert db.downgrade(engine, "0007c") == "0007c"
        with engine.connect() as connection:
            ids = connection.execute(text("SELECT update_id FROM processed_update ORDER BY 1"))
            assert list(ids.scalars()) == [1, 2, 3]
            columns = {column["name"] for column in inspect(connection).get_columns("inbox_update")}
        assert "handled_at" not in columns
        assert db.upgrade(engine) == head_revision()
    finally:
        engine.dispose()


def test_0009a_keeps_broadcast_drafts_and_drops_them_on_the_way_down(database_url: str) -> None:
    """A draft written at 0009a is read back as written; the downgrade drops the table (a
    draft in progress is lost, as a restart lost aiogram's), and the upgrade brings it back."""
    engine = make_engine(database_url)
    try:
        assert db.upgrade(engine, "0009a") == "0009a"
        data = {"text": "News", "media_kind": None, "segment": {"sector": ["construction"]}}
        with chat_transaction(engine, 5) as session:
            save_draft(session, chat_id=5, step="audience", data=data, now=utcnow())
        with chat_transaction(engine, 5) as session:
            save_draft(session, chat_id=5, step="confirm", data=data, now=utcnow())
        with Session(engine) as session:
            draft = draft_of(session, chat_id=5)
            assert draft is not None
            assert (draft.step, draft.data) == ("confirm", data)
        assert db.downgrade(engine, "0008a") == "0008a"
        assert "broadcast_draft" not in inspect(engine).get_table_names()
        assert db.upgrade(engine) == head_revision()
        with chat_transaction(engine, 5) as session:
            assert draft_of(session, chat_id=5) is None
            save_draft(session, chat_id=5, step="message", data={}, now=utcnow())
        with chat_transaction(engine, 5) as session:
            drop_draft(session, chat_id=5)
        with Session(engine) as session:
            assert draft_of(session, chat_id=5) is None
    finally:
        engine.dispose()
