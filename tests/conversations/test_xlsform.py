"""Interviews written as XLSForms (.md, .csv, .xlsx), read with pyxform."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from pyxform.xls2json_backends import md_to_dict

from conversations.definition import Interview
from conversations.engine import InterviewEngine
from conversations.events import Ask, Choose, Completed, Done, Invalid, Prompt, Text, Toggle
from conversations.loader import DefinitionError, load_interview

FORMS = Path(__file__).parent / "forms"


def prompts_of(step: Any) -> tuple[Prompt, ...]:
    return tuple(step.prompts)


def asked(step: Any) -> Ask:
    found = [p for p in step.prompts if isinstance(p, Ask)]
    assert found, step.prompts
    return found[-1]


def test_every_supported_type_loads_into_the_model() -> None:
    interview = load_interview(FORMS / "every_type.md")
    assert (interview.id, interview.title, interview.version) == ("demo", "Demo", "3")
    types = {q.id: q.type for q in interview.questions}
    assert types == {
        "hello": "note",
        "county": "select_one",
        "city": "select_one",
        "org_name": "text",
        "staff": "integer",
        "turnover": "decimal",
        "big": "calculate",
        "source": "calculate",
        "score": "scale",
        "skills": "select_multiple",
        "founded": "date",
        "ok": "acknowledge",
    }
    # Nested groups are flattened: a section each, their titles joined.
    assert [(s.id, s.title) for s in interview.sections] == [
        ("part_1", "Demo"),
        ("place", "Your organisation – Where"),
        ("org", "Your organisation"),
        ("part_4", "Demo"),
    ]
    assert [q.id for q in interview.sections[1].questions] == ["county", "city"]
    welsh = interview.in_language("Cymraeg (cy)")
    assert welsh.sections[1].title == "Eich sefydliad – Ble"
    staff = interview.question("staff")
    assert staff.constraint_message == "Must be more than 0"
    assert staff.default == "5"
    assert interview.question("county").required_message == "Please pick a county"
    assert interview.question("skills").other is True
    assert [c.value for c in interview.question("skills").choices] == ["s1", "s2"]
    score = interview.question("score")
    assert (score.min, score.max) == (1, 5)
    assert interview.question("org_name").hint == "As registered"


def walk_every_type(interview: Interview, staff: str) -> tuple[dict[str, Any], list[str]]:
    engine = InterviewEngine(interview, today=lambda: dt.date(2026, 12, 2))
    seen: list[str] = []
    step = engine.start()
    assert asked(step).question.id == "county"
    step = engine.handle(step.state, Text(""))
    seen.append(next(p.message for p in step.prompts if isinstance(p, Invalid)))
    step = engine.handle(step.state, Choose("b", "county"))
    # The cascading select offers only the cities of the county picked.
    assert [o.value for o in asked(step).options] == ["y"]
    step = engine.handle(step.state, Choose("y", "city"))
    step = engine.handle(step.state, Text("Acme"))
    assert asked(step).current == 5  # the default is offered as the current answer
    step = engine.handle(step.state, Text("0"))
    seen.append(next(p.message for p in step.prompts if isinstance(p, Invalid)))
    step = engine.handle(step.state, Text(staff))
    step = engine.handle(step.state, Text("1.5"))
    if int(staff) > 9:  # `big` (a calculate) makes the range relevant
        assert asked(step).question.id == "score"
        step = engine.handle(step.state, Choose("4", "score"))
    assert asked(step).question.id == "skills"
    step = engine.handle(step.state, Toggle("other", "skills"))
    step = engine.handle(step.state, Done("skills"))
    step = engine.handle(step.state, Text("Coding"))
    step = engine.handle(step.state, Text("01/01/2030"))
    seen.append(next(p.message for p in step.prompts if isinstance(p, Invalid)))
    step = engine.handle(step.state, Text("01/01/2020"))
    step = engine.handle(step.state, Choose("OK", "ok"))
    from conversations.events import Submit

    step = engine.handle(step.state, Submit())
    done = [p for p in step.prompts if isinstance(p, Completed)]
    assert done
    return done[0].answers, seen


@pytest.mark.parametrize(("staff", "big"), [("12", "yes"), ("3", "no")])
def test_a_form_runs_both_branches_with_calculate_cascade_and_messages(
    staff: str, big: str
) -> None:
    answers, messages = walk_every_type(load_interview(FORMS / "every_type.md"), staff)
    assert answers["big"] == big
    assert answers["source"] == "xlsform"
    assert answers["county"] == "b"
    assert answers["city"] == "y"
    assert answers["skills"] == ["other"]
    assert answers["skills_other"] == "Coding"
    assert ("score" in answers) is (big == "yes")
    assert answers["founded"] == "2020-01-01"
    assert answers["ok"] == "OK"
    assert messages == ["Please pick a county", "Must be more than 0", "Must be in the past"]


def test_two_languages_give_the_same_interview_in_other_words() -> None:
    interview = load_interview(FORMS / "every_type.md")
    assert interview.languages == ("English (en)", "Cymraeg (cy)")
    welsh = interview.in_language("Cymraeg (cy)")
    assert welsh.question("county").label == "Sir"
    assert welsh.question("city").choices[0].label == "Caerfaddon"
    assert interview.question("county").label == "County"
    assert [q.id for q in welsh.questions] == [q.id for q in interview.questions]
    # Answers are choice values whatever the language, so both walks store the same.
    english_answers, _ = walk_every_type(interview, "12")
    welsh_answers, _ = walk_every_type(welsh, "12")
    assert english_answers == welsh_answers


def test_a_csv_form_loads_and_branches() -> None:
    interview = load_interview(FORMS / "simple.csv")
    engine = InterviewEngine(interview)
    step = engine.start()
    step = engine.handle(step.state, Choose("yes", "hire"))
    assert asked(step).question.id == "vacancies"
    step = engine.handle(step.state, Text("0"))
    assert any(isinstance(p, Invalid) and p.message == "At least one please" for p in step.prompts)


def md_to_xlsx(source: Path, target: Path) -> None:
    """The same form as an .xlsx workbook (sheets and rows from the Markdown tables)."""
    sheets = md_to_dict(source.read_text())
    book = openpyxl.Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for name in ("survey", "choices", "settings"):
        rows = sheets[name]
        header = list(dict.fromkeys(column for row in rows for column in row))
        sheet = book.create_sheet(name)
        sheet.append(header)
        for row in rows:
            sheet.append([row.get(column, "") for column in header])
    book.save(target)


def test_an_xlsx_form_loads_as_the_markdown_one(tmp_path: Path) -> None:
    target = tmp_path / "every_type.xlsx"
    md_to_xlsx(FORMS / "every_type.md", target)
    assert load_interview(target) == load_interview(FORMS / "every_type.md")


def test_a_faulty_form_lists_every_problem_at_once() -> None:
    with pytest.raises(DefinitionError) as caught:
        load_interview(FORMS / "faulty.md")
    path = FORMS / "faulty.md"
    assert [str(p) for p in caught.value.problems] == [
        f"{path}: sheet 'survey' row 2: question 'where': type 'geopoint' is not supported: "
        "a chat cannot ask for a location",
        f"{path}: sheet 'survey' row 3: question 'name': relevant: the expression ends too "
        "early (a ')' is missing)",
        f"{path}: sheet 'survey' row 4: question 'people': type 'begin_repeat' is not "
        "supported: repeats are not supported",
        f"{path}: sheet 'survey' row 5: question 'photo': type 'image' is not supported: "
        "the bot does not take photos",
        f"{path}: sheet 'survey' row 6: type 'end_repeat' is not supported: repeats are not "
        "supported",
        f"{path}: sheet 'survey' row 7: question 'note_x': relevant: "
        "refers to unknown question 'nope'",
        f"{path}: sheet 'survey' row 8: question 'n': column 'appearance' is not supported",
    ]


def test_pyxform_errors_come_out_the_same_way(tmp_path: Path) -> None:
    form = tmp_path / "bad.md"
    form.write_text(
        "| survey |\n| | type | name | label | relevant |\n"
        "| | text | a | A | ${nope} = 1 |\n"
        "| settings |\n| | form_id | version |\n| | bad | 1 |\n"
    )
    with pytest.raises(DefinitionError) as caught:
        load_interview(form)
    (problem,) = caught.value.problems
    assert str(problem).startswith(f"{form}: sheet 'survey' row 2: question 'a': ")
    assert "nope" in str(problem)


def test_a_form_without_a_version_is_refused(tmp_path: Path) -> None:
    form = tmp_path / "nover.md"
    form.write_text("| survey |\n| | type | name | label |\n| | text | a | A |\n")
    with pytest.raises(DefinitionError, match="'version' is missing"):
        load_interview(form)


def test_choice_pictures_and_answers_in_labels_are_refused(tmp_path: Path) -> None:
    form = tmp_path / "media.md"
    form.write_text(
        "| survey |\n| | type | name | label |\n"
        "| | text | a | Name |\n"
        "| | select_one c | b | Hello ${a} |\n"
        "| choices |\n| | list_name | name | label | media::image |\n"
        "| | c | x | X | x.png |\n"
        "| settings |\n| | form_id | version |\n| | media | 1 |\n"
    )
    with pytest.raises(DefinitionError) as caught:
        load_interview(form)
    assert [str(p) for p in caught.value.problems] == [
        f"{form}: sheet 'survey' row 3: question 'b': label: answers shown inside a label "
        "(${...}) are not supported",
        f"{form}: sheet 'choices' row 2: column 'media::image' is not supported: options are "
        "text buttons",
    ]


def test_the_readme_example_form_is_valid(tmp_path: Path) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    start = readme.index("| survey |")
    form = tmp_path / "hiring.md"
    form.write_text(readme[start : readme.index("```", start)])
    interview = load_interview(form)
    assert [q.id for q in interview.questions] == ["hire", "vacancies"]


EXCLUSIVE_FORM = (
    "| survey |\n"
    "| | type | name | label | skillsbot_short_label |\n"
    "| | select_multiple barriers | barriers | What gets in the way? | Barriers |\n"
    "| choices |\n"
    "| | list_name | name | label | skillsbot_exclusive | skillsbot_group | region |\n"
    "| | barriers | cost | Cost | | Money | a |\n"
    "| | barriers | time | Staff time | no | Time | a |\n"
    "| | barriers | none | None of these | yes | | b |\n"
    "| settings |\n| | form_id | version |\n| | ex | 1 |\n"
)


def test_exclusive_choices_groups_and_short_labels_come_from_their_columns(
    tmp_path: Path,
) -> None:
    form = tmp_path / "exclusive.md"
    form.write_text(EXCLUSIVE_FORM)
    question = load_interview(form).question("barriers")
    assert question.short_label == "Barriers"
    assert [(c.value, c.exclusive, c.group) for c in question.choices] == [
        ("cost", False, "Money"),
        ("time", False, "Time"),
        ("none", True, None),
    ]
    # Other columns stay the choice's own, for a choice_filter; ours are not among them.
    assert question.choices[2].columns == (("region", "b"),)


def test_an_exclusive_choice_of_a_select_one_is_refused(tmp_path: Path) -> None:
    form = tmp_path / "exclusive.md"
    form.write_text(EXCLUSIVE_FORM.replace("select_multiple barriers", "select_one barriers"))
    with pytest.raises(DefinitionError) as caught:
        load_interview(form)
    (problem,) = caught.value.problems
    assert str(problem) == (
        f"{form}: sheet 'survey' row 2: question 'barriers': choice 'none' is exclusive, but "
        "only the choices of a select_multiple question can be (ticking one clears the others)"
    )


PROFILE_FORM = (
    "| survey |\n"
    "| | type | name | label | skillsbot_profile |\n"
    "| | text | business | Your business? | organisation |\n"
    "| | integer | staff | How many staff? | size_band |\n"
    "| settings |\n| | form_id | version |\n| | ex | 1 |\n"
)


def test_the_profile_column_declares_the_profile(tmp_path: Path) -> None:
    form = tmp_path / "profile.md"
    form.write_text(PROFILE_FORM)
    assert load_interview(form).profile == {"business": "organisation", "staff": "size_band"}


def test_a_bad_profile_column_is_reported_with_its_row(tmp_path: Path) -> None:
    form = tmp_path / "profile.md"
    form.write_text(PROFILE_FORM.replace("| size_band |", "| sector |"))
    with pytest.raises(DefinitionError) as caught:
        load_interview(form)
    (problem,) = caught.value.problems
    assert "row 3" in str(problem)
    assert "cannot fill 'sector'" in str(problem)
