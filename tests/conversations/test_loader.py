"""The interview loader: what it builds from good files, and every problem it reports."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conversations.areas import districts
from conversations.definition import Choice, Interview
from conversations.expressions import evaluate
from conversations.loader import (
    DefinitionError,
    Problem,
    builtin_interview_path,
    load_interview,
    load_interview_text,
)

HEADER = """\
id: demo
title: Demo
version: "1"
sections:
  - id: main
    title: Main
    questions:
"""
CONSENT = """\
- id: consent
  type: consent
  label: Do you agree?
"""


def with_questions(questions: str, *, consent: bool = True) -> str:
    """A one-section interview file holding these questions (YAML list items)."""
    body = (CONSENT if consent else "") + textwrap.dedent(questions)
    return HEADER + textwrap.indent(body, " " * 6)


def problems_of(text: str, **kwargs: str) -> list[Problem]:
    """The problems the loader reports for this text (it must report some)."""
    with pytest.raises(DefinitionError) as caught:
        load_interview_text(text, path="demo.yaml", **kwargs)
    assert caught.value.problems, "a DefinitionError always lists its problems"
    return list(caught.value.problems)


def only_problem(text: str, **kwargs: str) -> Problem:
    found = problems_of(text, **kwargs)
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


# --- Good files ---------------------------------------------------------------------------


def test_a_good_file_builds_the_interview() -> None:
    interview = load_interview_text(
        with_questions("""
            - id: intro
              type: note
              label: Thanks for helping.
            - id: sector
              type: select_one
              label: Sector?
              other: true
              choices:
                - {value: manufacturing, label: Manufacturing}
                - {value: construction, label: Construction}
            - id: staff
              type: integer
              label: Staff?
              min: 1
              max: 500
            - id: vacancies
              type: integer
              label: Vacancies?
              required: false
              relevant: selected(${sector}, 'manufacturing') and ${staff} > 9
              constraint: . <= ${staff}
              constraint_message: No more vacancies than staff, please.
            - id: fit
              type: scale
              label: How well?
              min_label: Badly
              max_label: Well
        """)
    )
    assert isinstance(interview, Interview)
    assert (interview.id, interview.title, interview.version) == ("demo", "Demo", "1")
    assert [q.id for q in interview.questions] == [
        "consent",
        "intro",
        "sector",
        "staff",
        "vacancies",
        "fit",
    ]
    sector = interview.question("sector")
    assert sector.other
    assert sector.choices == (
        Choice("manufacturing", "Manufacturing"),
        Choice("construction", "Construction"),
    )
    assert sector.section_id == "main"
    vacancies = interview.question("vacancies")
    assert not vacancies.required
    assert vacancies.relevant is not None
    assert vacancies.constraint is not None
    answers = {"sector": "manufacturing", "staff": 12}
    assert evaluate(vacancies.relevant.expr, answers) is True
    assert evaluate(vacancies.constraint.expr, answers, current=13) is False
    assert vacancies.constraint_message == "No more vacancies than staff, please."
    fit = interview.question("fit")
    assert (fit.min, fit.max, fit.min_label, fit.max_label) == (1, 5, "Badly", "Well")


def test_text_fields_are_taken_as_written() -> None:
    # YAML 1.1 would read these as a boolean, an octal number and a date.
    interview = load_interview_text(
        with_questions("""
            - id: answer
              type: select_one
              label: Yes
              choices:
                - {value: 010, label: On}
                - {value: "2-4", label: 2025-01-01}
        """)
    )
    question = interview.question("answer")
    assert question.label == "Yes"
    assert question.choices == (Choice("010", "On"), Choice("2-4", "2025-01-01"))


def test_a_numeric_version_is_read_as_text() -> None:
    text = with_questions("").replace('version: "1"', "version: 3")
    assert load_interview_text(text).version == "3"


def test_choices_from_lsip_districts_uses_the_area() -> None:
    text = with_questions("""
        - id: district
          type: select_one
          label: Where is your site?
          choices_from: lsip_districts
    """)
    default = load_interview_text(text).question("district")
    assert [c.label for c in default.choices] == [
        "Cambridge",
        "East Cambridgeshire",
        "Fenland",
        "Huntingdonshire",
        "Peterborough",
        "South Cambridgeshire",
    ]
    assert default.choices[0] == Choice("E07000008", "Cambridge")
    marches = load_interview_text(text, area="The Marches").question("district")
    assert [c.value for c in marches.choices] == [d.code for d in districts("The Marches")]


def test_anchors_may_share_a_list_of_choices() -> None:
    interview = load_interview_text(
        with_questions("""
            - id: lacking
              type: select_multiple
              label: Lacking?
              choices: &skills
                - {value: numeracy, label: Numeracy}
                - {value: sales, label: Sales}
            - id: gaps
              type: select_multiple
              label: Gaps?
              choices: *skills
        """)
    )
    assert interview.question("gaps").choices == interview.question("lacking").choices


def test_a_question_may_depend_on_an_earlier_other_text() -> None:
    interview = load_interview_text(
        with_questions("""
            - id: sector
              type: select_one
              label: Sector?
              other: true
              choices:
                - {value: retail, label: Retail}
            - id: why
              type: text
              label: Why?
              relevant: string-length(${sector_other}) > 0
        """)
    )
    assert interview.question("why").relevant is not None


def test_builtin_interview_path_is_the_shipped_file() -> None:
    path = builtin_interview_path()
    assert path.name == "lsip_employer.yaml"
    assert load_interview(path).id == "lsip_employer"


# --- Problem reports --------------------------------------------------------------------


def test_problem_text_names_the_file_and_question() -> None:
    assert str(Problem("a.yaml", "staff", "min (5) is greater than max (3)", 12)) == (
        "a.yaml: question 'staff': min (5) is greater than max (3)"
    )
    assert str(Problem("a.yaml", None, "'title' is missing", 1)) == (
        "a.yaml: line 1: 'title' is missing"
    )
    assert str(Problem("a.yaml", None, "no such file")) == "a.yaml: no such file"


def test_definition_error_is_a_value_error_listing_every_problem() -> None:
    problems = [Problem("a.yaml", "x", "one", 3), Problem("a.yaml", None, "two", 9)]
    error = DefinitionError(problems)
    assert isinstance(error, ValueError)
    assert error.problems == tuple(problems)
    assert str(error) == "a.yaml: question 'x': one\na.yaml: line 9: two"


QUESTION_PROBLEMS = [
    pytest.param(
        """
        - id: name
          type: text
          label: Name?
          requird: false
        """,
        "name",
        "unknown key 'requird' (did you mean 'required'?)",
        id="typo-in-key",
    ),
    pytest.param(
        """
        - id: name
          type: txt
          label: Name?
        """,
        "name",
        "unknown type 'txt' (did you mean 'text'?)",
        id="unknown-type",
    ),
    pytest.param(
        """
        - id: name
          type: text
          label: Name?
          choices: [{value: a, label: A}]
        """,
        "name",
        "'choices' does not apply to a text question",
        id="key-of-another-type",
    ),
    pytest.param(
        """
        - id: name
          type: text
        """,
        "name",
        "'label' is missing",
        id="no-label",
    ),
    pytest.param(
        """
        - id: sector
          type: select_one
          label: Sector?
        """,
        "sector",
        "a select_one question needs 'choices' (or 'choices_from')",
        id="no-choices",
    ),
    pytest.param(
        """
        - id: sector
          type: select_multiple
          label: Sector?
          choices: []
        """,
        "sector",
        "'choices' must be a list of {value, label}",
        id="empty-choices",
    ),
    pytest.param(
        """
        - id: sector
          type: select_one
          label: Sector?
          choices:
            - {value: a, label: A}
            - {value: a, label: B}
        """,
        "sector",
        "choice value 'a' is used twice",
        id="duplicate-choice-value",
    ),
    pytest.param(
        """
        - id: sector
          type: select_one
          label: Sector?
          choices:
            - {value: a, label: Same}
            - {value: b, label: same}
        """,
        "sector",
        "choice label 'same' is used twice",
        id="duplicate-choice-label",
    ),
    pytest.param(
        """
        - id: sector
          type: select_one
          label: Sector?
          choices:
            - {value: "a b", label: A}
        """,
        "sector",
        "choice value 'a b' must be 1 to 32 letters, digits or _ . + -",
        id="choice-value-with-space",
    ),
    pytest.param(
        """
        - id: sector
          type: select_one
          label: Sector?
          choices:
            - {value: abcdefghijklmnopqrstuvwxyz0123456, label: Long}
        """,
        "sector",
        "must be 1 to 32 letters",
        id="choice-value-too-long",
    ),
    pytest.param(
        """
        - id: sector
          type: select_one
          label: Sector?
          choices:
            - {value: a, label: A, hint: no}
        """,
        "sector",
        "a choice: unknown key 'hint'",
        id="choice-unknown-key",
    ),
    pytest.param(
        """
        - id: sector
          type: select_one
          label: Sector?
          other: true
          choices:
            - {value: other, label: Something else}
        """,
        "sector",
        "choice value 'other' is reserved for 'other: true'",
        id="other-value-with-other-flag",
    ),
    pytest.param(
        """
        - id: district
          type: select_one
          label: Where?
          choices_from: lsip_wards
        """,
        "district",
        "choices_from: unknown source 'lsip_wards'; sources are lsip_districts",
        id="unknown-choice-source",
    ),
    pytest.param(
        """
        - id: district
          type: select_one
          label: Where?
          choices_from: lsip_districts
          choices: [{value: E07000008, label: Cambridge again}]
        """,
        "district",
        "choice value 'E07000008' is already a value of 'choices_from'",
        id="choices-clash-with-choices-from",
    ),
    pytest.param(
        """
        - id: size
          type: select_one
          label: How big?
          choices: [{value: a, label: A}, {value: b, label: B, exclusive: true}]
        """,
        "size",
        "choice 'b' is exclusive, but only the choices of a select_multiple question can be "
        "(ticking one clears the others)",
        id="exclusive-on-select-one",
    ),
    pytest.param(
        """
        - id: barriers
          type: select_multiple
          label: What gets in the way?
          min: 2
          choices:
            - {value: a, label: A}
            - {value: b, label: B}
            - {value: c, label: C, exclusive: true}
        """,
        "barriers",
        "choice 'c' is exclusive, so it is picked on its own, but 'min' asks for at least 2 "
        "selections",
        id="exclusive-with-min-2",
    ),
    pytest.param(
        """
        - id: barriers
          type: select_multiple
          label: What gets in the way?
          choices: [{value: a, label: A, exclusive: true}, {value: b, label: B, exclusive: true}]
        """,
        "barriers",
        "every choice is exclusive, so only one can be picked: make it a select_one",
        id="every-choice-exclusive",
    ),
    pytest.param(
        """
        - id: barriers
          type: select_multiple
          label: What gets in the way?
          choices: [{value: a, label: A, exclusive: maybe}, {value: b, label: B}]
        """,
        "barriers",
        "'exclusive' must be true or false, not text",
        id="exclusive-not-a-flag",
    ),
    pytest.param(
        """
        - id: staff
          type: integer
          label: Staff?
          min: 10
          max: 2
        """,
        "staff",
        "min (10) is greater than max (2)",
        id="min-above-max",
    ),
    pytest.param(
        """
        - id: staff
          type: integer
          label: Staff?
          min: 1.5
        """,
        "staff",
        "'min' must be a whole number, not 1.5",
        id="fractional-integer-bound",
    ),
    pytest.param(
        """
        - id: staff
          type: decimal
          label: Staff?
          max: lots
        """,
        "staff",
        "'max' must be a number, not text",
        id="bound-not-a-number",
    ),
    pytest.param(
        """
        - id: name
          type: text
          label: Name?
          min: -1
        """,
        "name",
        "'min' is a length and cannot be negative",
        id="negative-length",
    ),
    pytest.param(
        """
        - id: fit
          type: scale
          label: Fit?
          min: 0
          max: 20
        """,
        "fit",
        "a scale needs 2 to 11 points, not 21",
        id="scale-too-long",
    ),
    pytest.param(
        """
        - id: picks
          type: select_multiple
          label: Picks?
          min: 3
          choices:
            - {value: a, label: A}
            - {value: b, label: B}
        """,
        "picks",
        "min (3) asks for more selections than there are choices (2)",
        id="more-selections-than-choices",
    ),
    pytest.param(
        """
        - id: name
          type: text
          label: Name?
          required: sometimes
        """,
        "name",
        "'required' must be true or false, not text",
        id="required-not-a-flag",
    ),
    pytest.param(
        """
        - id: name
          type: text
          label: Name?
          relevant: ${consent} == 'yes'
        """,
        "name",
        "relevant: unexpected '=' (compare with a single '=') at column",
        id="unparsable-relevant",
    ),
    pytest.param(
        """
        - id: staff
          type: integer
          label: Staff?
          constraint: . >
        """,
        "staff",
        "constraint: the expression ends too early",
        id="unparsable-constraint",
    ),
    pytest.param(
        """
        - id: name
          type: text
          label: Name?
          relevant: ${staf} > 1
        - id: staff
          type: integer
          label: Staff?
        """,
        "name",
        "relevant: refers to unknown question 'staf'",
        id="unknown-reference",
    ),
    pytest.param(
        """
        - id: name
          type: text
          label: Name?
          relevant: ${staff} > 1
        - id: staff
          type: integer
          label: Staff?
        """,
        "name",
        "relevant: refers to 'staff', which comes later; "
        "a question can only depend on earlier ones",
        id="later-reference",
    ),
    pytest.param(
        """
        - id: staff
          type: integer
          label: Staff?
          constraint: ${staff} > 1
        """,
        "staff",
        "constraint: refers to its own question ${staff}; use . for its own answer",
        id="self-reference",
    ),
    pytest.param(
        """
        - id: intro
          type: note
          label: Hello.
        - id: name
          type: text
          label: Name?
          relevant: ${intro} = ''
        """,
        "name",
        "relevant: refers to 'intro', a note, which has no answer",
        id="reference-to-note",
    ),
    pytest.param(
        """
        - id: staff
          type: integer
          label: Staff?
          relevant: . > 1
        """,
        "staff",
        "relevant: '.' (the answer being checked) only makes sense in a constraint",
        id="dot-in-relevant",
    ),
    pytest.param(
        """
        - id: staff
          type: integer
          label: Staff?
          constraint_message: Too many.
        """,
        "staff",
        "'constraint_message' without a 'constraint'",
        id="message-without-constraint",
    ),
    pytest.param(
        """
        - id: sector
          type: select_one
          label: Sector?
          choices:
            - {value: manufacturing, label: Manufacturing}
        - id: name
          type: text
          label: Name?
          relevant: selected(${sector}, 'manufactring')
        """,
        "name",
        "relevant: 'manufactring' is not a value of 'sector' (did you mean 'manufacturing'?)",
        id="selected-value-not-a-choice",
    ),
    pytest.param(
        """
        - id: vacancies
          type: yes_no
          label: Vacancies?
        - id: name
          type: text
          label: Name?
          relevant: ${vacancies} = 'Yes'
        """,
        "name",
        "relevant: 'Yes' is not a value of 'vacancies' (did you mean 'yes'?)",
        id="yes-no-value",
    ),
    pytest.param(
        """
        - id: Staff
          type: integer
          label: Staff?
        """,
        "Staff",
        "its id 'Staff' must start with a lowercase letter",
        id="id-with-capital",
    ),
    pytest.param(
        """
        - id: a_very_long_question_id_that_goes_on
          type: integer
          label: Staff?
        """,
        "a_very_long_question_id_that_goes_on",
        "at most 32 lowercase letters, digits or _",
        id="id-too-long",
    ),
    pytest.param(
        """
        - id: name
          type: text
          label: Name?
        - id: name
          type: integer
          label: Staff?
        """,
        "name",
        "id 'name' is also used by the question on line",
        id="duplicate-question-id",
    ),
    pytest.param(
        """
        - id: sector
          type: select_one
          label: Sector?
          other: true
          choices: [{value: a, label: A}]
        - id: sector_other
          type: text
          label: Other sector?
        """,
        "sector_other",
        "id 'sector_other' is taken by the 'Other' text of question 'sector'",
        id="id-colliding-with-other-text",
    ),
    pytest.param(
        """
        - id: name
          type: text
          label: Name?
          label: Again?
        """,
        "name",
        "a question has the key 'label' twice",
        id="duplicate-key",
    ),
]


@pytest.mark.parametrize(("questions", "question_id", "message"), QUESTION_PROBLEMS)
def test_question_problems(questions: str, question_id: str, message: str) -> None:
    found = problems_of(with_questions(questions))
    assert [p.question_id for p in found] == [question_id], [str(p) for p in found]
    assert message in found[0].message
    assert found[0].line is not None
    assert str(found[0]).startswith(f"demo.yaml: question '{question_id}': ")


def test_consent_must_come_before_answered_questions() -> None:
    text = with_questions(
        """
        - id: intro
          type: note
          label: Hello.
        - id: name
          type: text
          label: Name?
        - id: consent
          type: consent
          label: Agree?
        """,
        consent=False,
    )
    problem = only_problem(text)
    assert problem.question_id == "consent"
    assert problem.message == "consent must come before the questions it covers (it follows 'name')"


def test_a_note_may_come_before_consent() -> None:
    text = with_questions(
        """
        - id: privacy
          type: note
          label: Your data is safe.
        - id: consent
          type: consent
          label: Agree?
        """,
        consent=False,
    )
    assert load_interview_text(text).questions[1].type == "consent"


def test_a_question_without_an_id() -> None:
    problem = only_problem(with_questions("- {type: text, label: Name?}"))
    assert (problem.question_id, problem.message, problem.line) == (
        None,
        "a question has no 'id'",
        11,
    )
    assert str(problem) == "demo.yaml: line 11: a question has no 'id'"


def test_a_question_that_is_not_a_mapping() -> None:
    problem = only_problem(with_questions("- just some text"))
    assert problem.message == "a question must be a mapping of keys to values, not text"


def test_unknown_area() -> None:
    problem = only_problem(with_questions(""), area="Cambridgeshire")
    assert problem.question_id is None
    assert problem.message == (
        "unknown LSIP area 'Cambridgeshire'; did you mean 'Cambridgeshire and Peterborough'?"
    )


# --- The file as a whole ----------------------------------------------------------------


def test_duplicate_section_ids() -> None:
    text = with_questions("") + (
        "  - id: main\n"
        "    title: Again\n"
        "    questions:\n"
        "      - {id: name, type: text, label: Name?}\n"
    )
    problem = only_problem(text)
    assert problem.message == "section id 'main' is also used by the section on line 5"
    assert problem.line == 11


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("title: Demo\nversion: '1'\nsections: []\n", "the interview 'id' is missing", 1),
        (
            "id: demo\ntitle: Demo\nversion: 1.10\nsections: []\n",
            "'version' must be text; write it in quotes: version: \"1.10\"",
            3,
        ),
        ("id: demo\ntitle: [A, B]\nversion: '1'\n", "the interview 'title' must be text", 2),
        ("id: demo\ntitle: Demo\nversion: '1'\n", "'sections' is missing", 1),
        (
            "id: demo\ntitle: Demo\nversion: '1'\nsections: none\n",
            "'sections' must be a list of sections",
            4,
        ),
        (
            "id: Demo!\ntitle: Demo\nversion: '1'\nsections: []\n",
            "the interview id 'Demo!' must start with a lowercase letter",
            1,
        ),
        (
            "id: demo\ntitle: Demo\nversoin: '1'\nsections: []\n",
            "the file: unknown key 'versoin' (did you mean 'version'?)",
            3,
        ),
        (
            "id: demo\ntitle: Demo\nversion: '1'\nsections:\n  - id: s\n    title: S\n",
            "section 's': 'questions' is missing",
            5,
        ),
        ("- id: demo\n", "the file must be a mapping of keys to values, not a list", 1),
        ("", "is empty; an interview needs id, title, version and sections", None),
        (
            "# only a comment\n",
            "is empty; an interview needs id, title, version and sections",
            None,
        ),
        ("id: demo\ntitle: [Demo\nversion: '1'\n", "not valid YAML", 3),
        ("id: demo\n\tbad: tab\n", "not valid YAML", 2),
        ("id: a\n---\nid: b\n", "not valid YAML", 2),
        ("id: demo\ntitle: \x00\n", "contains a character YAML does not allow (#x0000)", 2),
        ("a: &a [*a]\n", "is nested too deeply to be an interview", 1),
    ],
)
def test_file_problems(text: str, message: str, line: int | None) -> None:
    found = problems_of(text)
    assert any(message in p.message for p in found), [str(p) for p in found]
    problem = next(p for p in found if message in p.message)
    assert problem.question_id is None
    assert problem.line == line


def test_an_alias_bomb_is_refused_quickly() -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for n in range(1, 8):
        levels.append(f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 10) + "]")
    problem = only_problem("\n".join(levels))
    assert problem.message.startswith("holds more than 100,000 values")


def test_one_broken_file_reports_every_problem_at_once() -> None:
    text = textwrap.dedent("""\
        id: demo
        title: Demo
        version: "1"
        colour: blue
        sections:
          - id: about
            title: About
            questions:
              - id: consent
                type: consent
                label: Agree?
              - id: name
                type: text
                label: Name?
                requird: false
              - id: size
                type: select_one
                label: Size?
              - id: staff
                type: integer
                label: Staff?
                min: 9
                max: 1
                relevant: ${later} > 1
              - id: name
                type: wibble
                label: Again?
              - id: later
                type: integer
                label: Later?
    """)
    found = problems_of(text)
    assert [(p.line, p.question_id, p.message) for p in found] == [
        (4, None, "the file: unknown key 'colour'"),
        (15, "name", "unknown key 'requird' (did you mean 'required'?)"),
        (16, "size", "a select_one question needs 'choices' (or 'choices_from')"),
        (23, "staff", "min (9) is greater than max (1)"),
        (
            24,
            "staff",
            "relevant: refers to 'later', which comes later; "
            "a question can only depend on earlier ones",
        ),
        (
            26,
            "name",
            "unknown type 'wibble'; types are note, consent, text, integer, decimal, "
            "select_one, select_multiple, scale, yes_no, date, acknowledge, calculate",
        ),
    ]


# --- Reading files ----------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError) as caught:
        load_interview(tmp_path / "nope.yaml")
    assert [str(p) for p in caught.value.problems] == [f"{tmp_path / 'nope.yaml'}: no such file"]


def test_a_directory(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError) as caught:
        load_interview(tmp_path)
    assert [p.message for p in caught.value.problems] == ["is a directory, not a file"]


def test_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("id: demo\ntitle: Caf\xe9\n".encode("latin-1"))
    with pytest.raises(DefinitionError) as caught:
        load_interview(path)
    (problem,) = caught.value.problems
    assert problem.message == "is not UTF-8 text (byte 20 cannot be read)"
    assert problem.line == 2


def test_a_utf8_file_with_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + with_questions("").encode("utf-8"))
    assert load_interview(path).id == "demo"


def test_text_with_a_lone_surrogate() -> None:
    problem = only_problem("id: demo\ntitle: \ud800\n")
    assert (problem.message, problem.line) == ("contains text that is not valid Unicode", 2)


# --- Nothing but DefinitionError, whatever the input ------------------------------------


def outcome(text: str) -> Interview | tuple[Problem, ...]:
    """The interview built from `text`, or the problems reported; any other error escapes."""
    try:
        return load_interview_text(text)
    except DefinitionError as err:
        return err.problems


YAMLISH = st.text(
    alphabet=st.sampled_from(list("ab:-[]{}&*!|>'\"#%@` \n\t09.,?~\x00\x85\u2028\ufeff")),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(YAMLISH, st.text(max_size=80)))
def test_any_text_gives_an_interview_or_a_definition_error(text: str) -> None:
    assert outcome(text)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=200))
def test_any_bytes_give_a_definition_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "garbage.yaml"
    path.write_bytes(data)
    with pytest.raises(DefinitionError):
        load_interview(path)


BUILTIN_LINES = builtin_interview_path().read_text(encoding="utf-8").splitlines()


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=0, max_value=len(BUILTIN_LINES) - 1),
    st.sampled_from(["", "  ", "x", ":", "- ", "  - id: x", "    type: text", "{", "relevant: ("]),
)
def test_a_damaged_builtin_file_gives_an_interview_or_a_definition_error(
    index: int, replacement: str
) -> None:
    lines = list(BUILTIN_LINES)
    lines[index] = replacement
    assert outcome("\n".join(lines))


# --- Profile declarations -----------------------------------------------------------------


def test_profile_declares_which_answers_fill_the_employers_profile() -> None:
    text = with_questions("""\
        - id: business
          type: text
          label: What is your business called?
          profile: organisation
        - id: staff
          type: integer
          label: How many people work here?
          profile: size_band
        - id: notes
          type: text
          label: Anything else?
        - id: call_back
          type: yes_no
          label: May we contact you again?
          profile: recontact
        """)
    interview = load_interview_text(text, path="demo.yaml")
    assert interview.profile == {
        "business": "organisation",
        "staff": "size_band",
        "call_back": "recontact",
    }
    assert interview.recontact == "call_back"
    assert interview.question("notes").profile is None
    without = load_interview_text(text.replace("profile: recontact", ""), path="demo.yaml")
    assert without.recontact is None


@pytest.mark.parametrize(
    ("questions", "message"),
    [
        (
            "- {id: business, type: text, label: Name?, profile: organisaton}\n",
            "profile: unknown field 'organisaton' (did you mean 'organisation'?); fields are "
            "organisation, sector, district, size_band, role, recontact",
        ),
        (
            "- {id: call_back, type: text, label: May we call?, profile: recontact}\n",
            "profile: an answer of type text cannot fill 'recontact' (a yes_no answer can)",
        ),
        (
            "- {id: one, type: yes_no, label: May we call?, profile: recontact}\n"
            "- {id: two, type: yes_no, label: May we write?, profile: recontact}\n",
            "profile: 'recontact' is already filled by question 'one'",
        ),
        (
            "- {id: staff, type: integer, label: How many?, profile: sector}\n",
            "profile: an answer of type integer cannot fill 'sector' (text and select_one "
            "answers can; an integer headcount can fill size_band)",
        ),
        (
            "- {id: one, type: text, label: Name?, profile: role}\n"
            "- {id: two, type: text, label: Role?, profile: role}\n",
            "profile: 'role' is already filled by question 'one'",
        ),
    ],
)
def test_a_bad_profile_declaration_is_reported(questions: str, message: str) -> None:
    problem = only_problem(with_questions(questions))
    assert problem.message == message
    assert problem.line is not None


def test_every_builtin_interview_declares_its_profile() -> None:
    folder = builtin_interview_path().parent
    for path in [*folder.glob("*.yaml"), *folder.glob("earlier/*.yaml")]:
        interview = load_interview(path)
        assert "district" in interview.profile.values(), path
        if interview.id == "lsip_employer":
            fields = sorted(interview.profile.values())
            declared = ("organisation", "sector", "district", "size_band", "role", "recontact")
            assert fields == sorted(declared)
            assert interview.recontact == "follow_up", path  # every version, as before
