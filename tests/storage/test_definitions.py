"""Interview definitions in the database: versions never change, one is active, audited."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from storage import Engine, utcnow
from storage.definitions import (
    VersionTaken,
    activate_definition,
    active_definition,
    definition_for,
    store_definition,
)
from storage.staff import audit_entries


def _store(session: Session, version: str, content: bytes) -> int:
    row = store_definition(
        session,
        interview_id="hiring",
        version=version,
        file_name="hiring.csv",
        content=content,
        uploaded_by="42",
        now=utcnow(),
    )
    assert row.id is not None
    return row.id


def test_versions_are_kept_and_one_is_active(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        first = _store(session, "1", b"one")
        assert _store(session, "1", b"one") == first  # the same file again: the same row
        with pytest.raises(VersionTaken):
            _store(session, "1", b"changed")
        second = _store(session, "2", b"two")
        assert active_definition(session) is None
        activate_definition(session, definition_id=first, actor="42", now=utcnow())
        activate_definition(session, definition_id=second, actor="43", now=utcnow())
        active = active_definition(session)
        assert active is not None
        assert (active.version, active.activated_by) == ("2", "43")
        old = definition_for(session, interview_id="hiring", version="1")
        assert old is not None
        assert (old.content, old.active) == (b"one", False)
        assert activate_definition(session, definition_id=999, actor="42", now=utcnow()) is None
        activations = audit_entries(session, action="interview.activate")
        assert [(e.actor, e.detail) for e in activations] == [
            ("43", "hiring version 2"),
            ("42", "hiring version 1"),
        ]
        assert len(audit_entries(session, action="interview.upload")) == 2
