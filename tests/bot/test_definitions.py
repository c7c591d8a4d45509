"""Which definition a response runs on, when the built-in interview has changed since."""

from __future__ import annotations

import dataclasses

from sqlmodel import Session

from bot.core.definitions import Definitions
from conversations.areas import DEFAULT_AREA
from conversations.loader import builtin_interview_path, load_interview, load_interview_text
from storage import Engine

OTHER = """
id: hiring
title: Hiring
version: "3"
sections:
  - id: main
    title: Main
    questions:
      - {id: hire, type: yes_no, label: Are you hiring?}
"""


def test_a_response_on_an_earlier_built_in_version_finishes_on_it(engine: Engine) -> None:
    """Version 1 of the built-in interview stays loadable once a newer one ships (its file
    in interviews/earlier/), so a response begun on it is not thrown away and restarted."""
    first = load_interview(builtin_interview_path().parent / "earlier" / "lsip_employer.v1.yaml")
    assert (first.id, first.version) == ("lsip_employer", "1")
    newer = dataclasses.replace(first, version="99")
    definitions = Definitions(newer, area=DEFAULT_AREA)
    with Session(engine) as session:
        old = definitions.for_response(session, "lsip_employer", "1")
        assert old is not None
        assert old.interview.version == "1"
        assert old.engine().interview.questions == first.questions
        assert definitions.for_response(session, "lsip_employer", "98") is None
        assert definitions.for_response(session, "lsip_employer", "99") is definitions.fallback


def test_the_built_in_interview_still_serves_responses_begun_before_another_was_set(
    engine: Engine,
) -> None:
    """SKILLSBOT_INTERVIEW set after employers began the built-in interview: they finish it."""
    builtin = load_interview(builtin_interview_path())
    definitions = Definitions(load_interview_text(OTHER), area=DEFAULT_AREA)
    with Session(engine) as session:
        old = definitions.for_response(session, builtin.id, builtin.version)
        assert old is not None
        assert old.interview == builtin
