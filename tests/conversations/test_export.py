"""Export to XLSForm sheets and YAML, and loading back: the same interview, the same walk."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from bot.cli.interview import write_xlsform
from conversations.definition import Interview
from conversations.engine import InterviewEngine
from conversations.events import Ask, Choose, Completed, Done, Invalid, Submit, Text, Toggle
from conversations.export import ExportError, to_xlsform_sheets, to_yaml
from conversations.loader import builtin_interview_path, load_interview

FORMS = Path(__file__).parent / "forms"


def export_xlsx(interview: Interview, target: Path) -> Path:
    write_xlsform(to_xlsform_sheets(interview), target)
    return target


def same_in_every_language(left: Interview, right: Interview) -> None:
    assert left == right
    assert left.languages == right.languages
    for language in left.languages:
        assert left.in_language(language) == right.in_language(language)


@pytest.mark.parametrize("source", [builtin_interview_path(), FORMS / "every_type.md"])
def test_exporting_loading_and_exporting_again_gives_the_same(source: Path, tmp_path: Path) -> None:
    original = load_interview(source)
    first = export_xlsx(original, tmp_path / "first.xlsx")
    loaded = load_interview(first)
    same_in_every_language(original, loaded)
    assert to_xlsform_sheets(loaded) == to_xlsform_sheets(original)
    if not original.languages:
        text = to_yaml(original)
        (tmp_path / "again.yaml").write_text(text)
        assert load_interview(tmp_path / "again.yaml") == original
        assert to_yaml(load_interview(tmp_path / "again.yaml")) == text


def test_yaml_cannot_hold_two_languages() -> None:
    with pytest.raises(ExportError, match="export it as xlsx"):
        to_yaml(load_interview(FORMS / "every_type.md"))


def walk(interview: Interview, pick_last: bool) -> dict[str, Any]:
    """Answer every question the same way whatever the format: the first (or last) option,
    or the first typed answer the question accepts."""
    engine = InterviewEngine(interview, today=lambda: dt.date(2026, 12, 2))
    step = engine.start()
    for _ in range(200):
        asks = [p for p in step.prompts if isinstance(p, Ask)]
        if not asks:
            step = engine.handle(step.state, Submit())
            done = [p for p in step.prompts if isinstance(p, Completed)]
            assert done, step.prompts
            return done[0].answers
        ask = asks[-1]
        question = ask.question
        options = [o for o in ask.options if o.value != "other"]
        if ask.follow_up:
            candidates: list[Any] = [Text("Something else")]
        elif question.type == "consent":
            candidates = [Choose("yes", question.id)]
        elif question.type == "select_multiple":
            chosen = options[-1] if pick_last else options[0]
            step = engine.handle(step.state, Toggle(chosen.value, question.id))
            candidates = [Done(question.id)]
        elif options:
            chosen = options[-1] if pick_last else options[0]
            candidates = [Choose(chosen.value, question.id)]
        else:
            candidates = [Text(t) for t in ("3", "1", "0", "12", "A reply", "01/02/2020")]
        for candidate in candidates:
            after = engine.handle(step.state, candidate)
            if not any(isinstance(p, Invalid) for p in after.prompts):
                step = after
                break
        else:
            raise AssertionError(f"no answer fits {question.id}")
    raise AssertionError("the walk did not end")


def test_the_builtin_interview_as_an_xlsform_walks_like_the_yaml(tmp_path: Path) -> None:
    original = load_interview(builtin_interview_path())
    loaded = load_interview(export_xlsx(original, tmp_path / "lsip.xlsx"))
    # skillsbot_profile carries every declaration, the recontact question's too.
    assert (loaded.profile, loaded.recontact) == (original.profile, "follow_up")
    walks = []
    for pick_last in (False, True):
        from_yaml = walk(original, pick_last)
        from_xlsform = walk(loaded, pick_last)
        assert from_xlsform == from_yaml
        walks.append(from_yaml)
    # The two walks took different branches: some questions were asked in only one.
    assert set(walks[0]) != set(walks[1])
