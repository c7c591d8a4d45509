"""The engine's state as a value: its JSON form, and every shape stored so far read back."""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError, replace
from typing import Any

import pytest

from conversations.engine import InterviewEngine, InterviewStateError
from conversations.events import Choose, Resume, Text, Toggle
from conversations.state import UNREADABLE, InterviewState

ID = "recruitment_test"  # the interview of tests/conversations/conftest.py
# A state as the engine has stored it since the first release (no language chosen).
STORED: dict[str, Any] = {
    "interview_id": ID,
    "version": "1",
    "status": "in_progress",
    "answers": {"consent": "yes", "staff": 14, "barriers": ["cost", "time"]},
    "current": "htf_reasons",
    "selected": ["pay"],
    "follow_up": False,
}


def test_the_json_form_is_the_stored_one_and_reads_back_the_same() -> None:
    state = InterviewState.from_json(STORED)
    assert state == InterviewState(
        ID,
        "1",
        "in_progress",
        {"consent": "yes", "staff": 14, "barriers": ["cost", "time"]},
        "htf_reasons",
        ("pay",),
    )
    assert state.to_json() == STORED
    assert list(state.to_json()) == list(STORED)  # the same keys, in the same order
    assert InterviewState.from_json(json.loads(json.dumps(state.to_json()))) == state


def test_a_chosen_language_is_stored_only_once_chosen() -> None:
    state = InterviewState.from_json(STORED)
    assert "language" not in state.to_json()
    welsh = replace(state, language="Cymraeg")
    assert welsh.to_json() == {**STORED, "language": "Cymraeg"}
    assert InterviewState.from_json(welsh.to_json()) == welsh
    assert InterviewState.from_json({**STORED, "language": None}).language is None


def test_the_declined_state_storage_writes_reads_back(engine: InterviewEngine) -> None:
    declined = InterviewState.declined(ID, "1")  # what storage writes on a refusal
    assert declined.to_json() == {
        "interview_id": ID,
        "version": "1",
        "status": "declined",
        "answers": {},
        "current": None,
        "selected": None,
        "follow_up": False,
    }
    assert InterviewState.from_json(declined.to_json()) == declined
    # The engine's own declined state, less the answers: it reads it as declined.
    refused = engine.handle(engine.start().state, Choose("no", "consent")).state
    assert declined == replace(refused, answers={})
    assert engine.handle(declined, Text("hello")).state == declined


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        # Without a status: in progress (as storage has always read such a state).
        (
            {"interview_id": ID, "version": "1", "answers": {}, "current": "consent"},
            InterviewState(ID, "1", current="consent"),
        ),
        # Without the keys of a question being asked (`selected`, `follow_up`).
        (
            {"interview_id": ID, "version": "1", "status": "review", "answers": {}},
            InterviewState(ID, "1", "review"),
        ),
        # Answers stored as null: none.
        (
            {"interview_id": ID, "version": "1", "answers": None, "current": "consent"},
            InterviewState(ID, "1", current="consent"),
        ),
        # A response row's default before its first state was saved.
        ({}, InterviewState("", "")),
        # Only a status and answers (as storage's own tests long wrote them).
        (
            {"status": "completed", "answers": {"consent": "yes"}},
            InterviewState("", "", "completed", {"consent": "yes"}),
        ),
    ],
)
def test_older_shapes_load_with_defaults(stored: dict[str, Any], expected: InterviewState) -> None:
    assert InterviewState.from_json(stored) == expected


def test_unknown_keys_are_kept_and_written_back(engine: InterviewEngine) -> None:
    stored = {**STORED, "mode": "asking", "history": ["consent", "staff"]}
    state = InterviewState.from_json(stored)
    assert state.extra == {"mode": "asking", "history": ["consent", "staff"]}
    assert state.to_json() == stored
    # The engine carries them through a step; a restart drops them.
    started = engine.start().state
    kept = InterviewState.from_json({**started.to_json(), "mode": "asking"})
    step = engine.handle(kept, Choose("yes", "consent"))
    assert step.state.extra == {"mode": "asking"}
    assert step.state.to_json()["mode"] == "asking"


def test_an_unknown_key_never_replaces_a_known_one() -> None:
    state = replace(InterviewState(ID, "1"), extra={"status": "lost", "x": 1})
    assert state.to_json()["status"] == "in_progress"
    assert state.to_json()["x"] == 1


@pytest.mark.parametrize(
    "bad",
    [
        {"answers": ["consent"]},
        {"current": ["consent"]},
        {"current": 3},
        {"selected": "pay"},
        {"selected": ["pay", 2]},
        {"status": None},
        {"version": 1},
    ],
)
def test_a_known_key_of_the_wrong_kind_makes_the_state_unreadable(
    engine: InterviewEngine, bad: dict[str, Any]
) -> None:
    state = InterviewState.from_json({**STORED, **bad})
    assert state.status == UNREADABLE
    with pytest.raises(InterviewStateError):
        engine.handle(state, Resume())


@pytest.mark.parametrize("stored", [None, [], "state", 3])
def test_json_that_is_no_object_is_unreadable(engine: InterviewEngine, stored: object) -> None:
    state = InterviewState.from_json(stored)
    assert (state.interview_id, state.status) == ("", UNREADABLE)
    with pytest.raises(InterviewStateError, match="not an interview state"):
        engine.handle(state, Resume())


def test_the_state_is_frozen_and_shows_no_answers() -> None:
    state = InterviewState.from_json(STORED)
    with pytest.raises(FrozenInstanceError):
        state.status = "completed"  # type: ignore[misc]
    assert "Acme" not in repr(replace(state, answers={"org_name": "Acme"}))


def test_where_a_state_stands() -> None:
    asking = InterviewState(ID, "1", current="consent")
    assert (asking.asking, asking.editing, asking.reviewing, asking.finished) == (
        True,
        False,
        False,
        False,
    )
    editing = replace(asking, status="review")
    assert (editing.asking, editing.editing, editing.reviewing) == (True, True, False)
    reviewing = replace(editing, current=None)
    assert (reviewing.asking, reviewing.editing, reviewing.reviewing) == (False, False, True)
    for status in ("completed", "declined"):
        done = InterviewState(ID, "1", status)
        assert done.finished
        assert not done.asking


def test_without_answers_keeps_the_rest() -> None:
    state = replace(InterviewState.from_json(STORED), language="Cymraeg")
    kept = state.without_answers(["consent", "not_there"])
    assert kept.answers == {"staff": 14, "barriers": ["cost", "time"]}
    assert replace(kept, answers=state.answers) == state
    assert state.answers["consent"] == "yes"  # the original is as it was


def test_a_step_leaves_the_given_state_as_it_was(engine: InterviewEngine) -> None:
    start = engine.start().state
    frozen = InterviewState.from_json(json.loads(json.dumps(start.to_json())))
    consented = engine.handle(start, Choose("yes", "consent")).state
    assert start == frozen
    assert consented.answers == {"consent": "yes"}
    refused = engine.handle(consented, Toggle("pay", "htf_reasons"))
    assert refused.state is consented  # nothing changed: the same value back
    assert engine.handle(consented, Text("Acme Ltd")).state.answers["org_name"] == "Acme Ltd"
