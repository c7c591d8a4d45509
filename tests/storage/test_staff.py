"""Staff roles and the audit log, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from storage import Engine
from storage.broadcasts import save_draft
from storage.staff import (
    SEEDED_BY,
    Standing,
    UnknownRole,
    audit_entries,
    forget_menu,
    menus_set,
    parse_role,
    read_standing,
    record_audit,
    record_menu,
    remove_role,
    role_of,
    roster,
    seed_admins,
    set_role,
    staff_members,
)

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def test_roles_are_given_changed_and_taken_away(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        assert role_of(session, 42) is None
        set_role(session, telegram_user_id=42, role="staff", added_by="1", now=NOW)
        assert role_of(session, 42) == "staff"
        set_role(session, telegram_user_id=42, role="analyst", added_by="1", now=NOW)
        assert role_of(session, 42) == "analyst"
    with Session(engine) as session, session.begin():
        assert role_of(session, 42) == "analyst"
        assert remove_role(session, telegram_user_id=42)
        assert not remove_role(session, telegram_user_id=42)
        assert role_of(session, 42) is None


def test_large_telegram_ids_fit(engine: Engine) -> None:
    big = 7_999_999_999
    with Session(engine) as session, session.begin():
        set_role(session, telegram_user_id=big, role="admin", added_by="cli:ops", now=NOW)
    with Session(engine) as session:
        assert role_of(session, big) == "admin"
        assert read_standing(session, big, big) == Standing("admin", None)


def test_the_standing_is_the_role_and_the_chats_draft_step_read_together(
    engine: Engine,
) -> None:
    with Session(engine) as session, session.begin():
        set_role(session, telegram_user_id=42, role="staff", added_by="1", now=NOW)
        save_draft(session, chat_id=42, step="audience", data={}, now=NOW)
    with Session(engine) as session:
        assert read_standing(session, 42, 42) == Standing("staff", "audience")
        assert read_standing(session, 42, 43) == Standing("staff", None)  # another chat's
        assert read_standing(session, 43, 42) == Standing(None, "audience")


def test_seed_admins_adds_and_promotes_but_leaves_admins_alone(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        set_role(session, telegram_user_id=2, role="analyst", added_by="1", now=NOW)
        set_role(session, telegram_user_id=3, role="admin", added_by="cli:ops", now=NOW)
        assert seed_admins(session, [1, 2, 3, 1], NOW + timedelta(hours=1)) == 2
    with Session(engine, expire_on_commit=False) as session, session.begin():
        assert seed_admins(session, [1, 2, 3], NOW + timedelta(hours=2)) == 0
        members = {m.telegram_user_id: m for m in staff_members(session)}
    assert {uid: m.role for uid, m in members.items()} == {1: "admin", 2: "admin", 3: "admin"}
    assert members[1].added_by == SEEDED_BY
    assert members[3].added_by == "cli:ops"  # an admin already: untouched
    assert members[1].added_at == NOW + timedelta(hours=1)


def test_staff_members_lists_admins_first(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        set_role(session, telegram_user_id=5, role="analyst", added_by="1", now=NOW)
        set_role(session, telegram_user_id=9, role="admin", added_by="1", now=NOW)
        set_role(session, telegram_user_id=7, role="staff", added_by="1", now=NOW)
        assert [(m.telegram_user_id, m.role) for m in staff_members(session)] == [
            (9, "admin"),
            (7, "staff"),
            (5, "analyst"),
        ]


def test_audit_log_keeps_actions_newest_first_in_utc(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        record_audit(
            session, actor="cli:ops", action="import", count=120, detail="roster.csv", now=NOW
        )
        later = NOW + timedelta(minutes=5)
        record_audit(session, actor="42", action="role.add", count=1, detail="staff", now=later)
    with Session(engine) as session:
        entries = audit_entries(session)
        assert [(e.actor, e.action, e.count) for e in entries] == [
            ("42", "role.add", 1),
            ("cli:ops", "import", 120),
        ]
        assert entries[0].at == NOW + timedelta(minutes=5)
        assert entries[0].at.tzinfo is not None
        assert [e.detail for e in audit_entries(session, action="import")] == ["roster.csv"]


@pytest.mark.parametrize(
    ("name", "role"), [("admin", "admin"), (" Staff ", "staff"), ("ANALYST", "analyst")]
)
def test_role_names_parse_case_insensitively(name: str, role: str) -> None:
    assert parse_role(name) == role


def test_unknown_role_names_the_choices() -> None:
    with pytest.raises(UnknownRole, match="roles are admin, staff, analyst"):
        parse_role("boss")


def test_the_menus_set_are_recorded_replaced_and_forgotten(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        set_role(session, telegram_user_id=42, role="staff", added_by="1", now=NOW)
        set_role(session, telegram_user_id=43, role="admin", added_by="1", now=NOW)
        record_menu(session, telegram_user_id=42, menu="aaaa", now=NOW)
        record_menu(session, telegram_user_id=44, menu="bbbb", now=NOW)
    with Session(engine) as session, session.begin():
        record_menu(session, telegram_user_id=42, menu="cccc", now=NOW)  # an upsert
        assert roster(session) == {42: "staff", 43: "admin"}
        assert menus_set(session) == {42: "cccc", 44: "bbbb"}
        forget_menu(session, telegram_user_id=44)
        forget_menu(session, telegram_user_id=99)  # nothing to forget: no error
    with Session(engine) as session:
        assert menus_set(session) == {42: "cccc"}
