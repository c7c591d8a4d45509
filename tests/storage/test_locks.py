"""Advisory locks are per deployment: the same name in two schemas of one PostgreSQL server
is two locks, in one schema it is one (so parallel tests, each in its own schema, and two
deployments sharing a server never wait on each other)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from storage import Engine, locks, make_engine
from tests.conftest import fresh_postgres_schema

pytestmark = pytest.mark.postgres


@pytest.fixture
def two_deployments() -> Iterator[tuple[Engine, Engine]]:
    """Engines on two fresh schemas of the test server."""
    with fresh_postgres_schema() as first_url, fresh_postgres_schema() as second_url:
        first, second = make_engine(first_url), make_engine(second_url)
        try:
            yield first, second
        finally:
            first.dispose()
            second.dispose()


def test_one_name_is_one_key_within_a_schema_and_another_in_the_next(
    two_deployments: tuple[Engine, Engine],
) -> None:
    first, second = two_deployments
    with first.connect() as one, first.connect() as other, second.connect() as elsewhere:
        key = locks.lock_key(one, locks.MIGRATIONS)
        assert locks.lock_key(other, locks.MIGRATIONS) == key
        assert locks.lock_key(one, locks.ROUNDS) != key
        assert locks.lock_key(elsewhere, locks.MIGRATIONS) != key
        assert locks.lock_key(one, locks.chat_lock_name(7)) != locks.lock_key(
            one, locks.chat_lock_name(8)
        )


def test_a_held_lock_blocks_its_own_deployment_only(
    two_deployments: tuple[Engine, Engine],
) -> None:
    first, second = two_deployments
    name = locks.chat_lock_name(42)
    with first.connect() as holder, first.connect() as same, second.connect() as elsewhere:
        with holder.begin():
            locks.lock_for_transaction(holder, name)
            with elsewhere.begin():  # another schema: not blocked
                elsewhere.exec_driver_sql("SET LOCAL lock_timeout = '5s'")
                locks.lock_for_transaction(elsewhere, name)
            with same.begin():
                same.exec_driver_sql("SET LOCAL lock_timeout = '200ms'")
                with pytest.raises(DBAPIError, match="lock timeout"):
                    locks.lock_for_transaction(same, name)
        # released at commit: a session-level lock can now be had, once
        assert locks.try_lock(same, name)
        assert not locks.try_lock(holder, name)
        assert locks.unlock(same, name)
        assert locks.try_lock(holder, name)
        assert locks.unlock(holder, name)


def test_a_session_lock_has_one_holder_until_released_or_its_session_ends(
    two_deployments: tuple[Engine, Engine],
) -> None:
    first_engine, second_engine = two_deployments
    first = locks.SessionLock(first_engine, locks.polling_lock_name(1))
    second = locks.SessionLock(first_engine, locks.polling_lock_name(1))
    other_bot = locks.SessionLock(first_engine, locks.polling_lock_name(2))
    elsewhere = locks.SessionLock(second_engine, locks.polling_lock_name(1))
    try:
        assert first.hold()
        assert not second.hold()
        assert other_bot.hold()  # another name
        assert elsewhere.hold()  # another deployment
        assert first.hold()  # the holder's check
        first.release()
        assert second.hold()
        # The holder's session ends (a crash, a cut connection): it learns so at its next
        # check, and the other may take the lock.
        with first_engine.connect() as connection:
            pid = locks.holder_pid(connection, locks.polling_lock_name(1))
            assert pid is not None
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        assert not second.hold()
        assert first.hold()
    finally:
        for lock in (first, second, other_bot, elsewhere):
            lock.release()
