"""Interviews written as XLSForms (.xlsx, .xls, .csv, .md), read with pyxform.

pyxform, the reference implementation that ODK, KoboToolbox and others use, reads the
spreadsheet and checks it as an XLSForm (`workbook_to_json`); this module turns what it
gives into the same `Interview` the YAML loader builds, refusing everything a chat cannot
ask or the engine cannot do. Every problem is reported at once, each as
`PATH: sheet 'survey' row N: question 'ID': message`.

What maps to what:
- types `text`, `integer`, `decimal`, `select_one`, `select_multiple` (and `... or_other`),
  `note`, `acknowledge`, `date`, `calculate` keep their names; `range` is asked as a
  scale (`parameters: start=1 end=5 step=1`); `hidden` is a calculate of its `default`.
- `begin_group`/`end_group` are sections; a nested group is a section of its own, its
  title joined to its parents' with " – "; questions outside any group form a section
  titled as the form.
- `label::English (en)` columns give translations (`Interview.translations`).
- skillsbot's own columns keep what XLSForm has no column for, so an exported interview
  loads back the same: `skillsbot_type` (`consent`, `yes_no`, `scale`), `skillsbot_min`,
  `skillsbot_max` (bounds of a number, a text's length or a number of selections), and
  `skillsbot_min_label`/`skillsbot_max_label` (the ends of a scale) and
  `skillsbot_short_label` (the question's name in a review) and `skillsbot_profile` (the
  employer's profile field the answer fills, as `profile:` in YAML); on the choices sheet,
  `skillsbot_exclusive` (yes for an option that goes alone, such as "None of these") and
  `skillsbot_group` (the heading an option of a long list falls under). These last three
  are written in the default language only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from pyxform.errors import PyXFormError
from pyxform.xls2json import workbook_to_json
from pyxform.xls2json_backends import get_xlsform

from conversations.areas import DEFAULT_AREA
from conversations.definition import (
    OTHER_VALUE,
    Choice,
    Condition,
    Interview,
    Question,
    QuestionType,
    Section,
)
from conversations.expressions import ExpressionError, parse, references

__all__ = ["load_xlsform_bytes"]

SURVEY = "survey"
ID_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,31}\Z")
MAX_SCALE_POINTS = 11

# XLSForm type (as pyxform names it in its JSON) -> skillsbot type.
_TYPES: Mapping[str, QuestionType] = {
    "text": "text",
    "integer": "integer",
    "decimal": "decimal",
    "select one": "select_one",
    "select all that apply": "select_multiple",
    "note": "note",
    "acknowledge": "acknowledge",
    "date": "date",
    "range": "scale",
    "calculate": "calculate",
    "hidden": "calculate",
}
_OWN_TYPES: Mapping[str, tuple[QuestionType, str]] = {
    # skillsbot_type -> (type, the XLSForm type it must be written as)
    "consent": ("consent", "select one"),
    "yes_no": ("yes_no", "select one"),
    "scale": ("scale", "range"),
}
# Metadata that KoboToolbox and ODK forms carry by default (the form builder adds start
# and end): nothing to ask, and the bot records its own times, so these rows are skipped.
_METADATA = frozenset(
    {"start", "end", "today", "deviceid", "username", "simserial", "subscriberid", "phonenumber"}
)
_SUPPORTED_TYPES = (
    "text, integer, decimal, select_one, select_multiple (also ... or_other), note, "
    "acknowledge, date, range, calculate, hidden, begin_group/end_group"
)
_WHY_NOT: Mapping[str, str] = {
    "geopoint": "a chat cannot ask for a location",
    "geotrace": "a chat cannot ask for a line on a map",
    "geoshape": "a chat cannot ask for a shape on a map",
    "image": "the bot does not take photos",
    "audio": "the bot does not take recordings",
    "video": "the bot does not take videos",
    "file": "the bot does not take files",
    "barcode": "a chat cannot scan a barcode",
    "begin_repeat": "repeats are not supported",
    "begin repeat": "repeats are not supported",
    "end_repeat": "repeats are not supported",
    "end repeat": "repeats are not supported",
}
# Survey columns read (a language may follow `::` on the translatable ones).
_TRANSLATABLE = ("label", "hint", "required_message", "constraint_message")
# The survey sheet's columns we read, in the order the export writes them.
SURVEY_COLUMNS = (
    "type",
    "name",
    "label",
    "hint",
    "required",
    "required_message",
    "relevant",
    "constraint",
    "constraint_message",
    "choice_filter",
    "default",
    "calculation",
    "parameters",
    "skillsbot_type",
    "skillsbot_min",
    "skillsbot_max",
    "skillsbot_min_label",
    "skillsbot_max_label",
    "skillsbot_short_label",
    "skillsbot_profile",
)
_COLUMNS = frozenset(SURVEY_COLUMNS)
# The choices sheet's own columns: `skillsbot_exclusive` (yes: ticking it clears the other
# ticks, as "None of these") and `skillsbot_group` (the heading of a long list's options).
# They are read into `Choice.exclusive`/`Choice.group`, not into a choice_filter's columns.
EXCLUSIVE_COLUMN = "skillsbot_exclusive"
GROUP_COLUMN = "skillsbot_group"
_CHOICE_OWN_COLUMNS = frozenset({EXCLUSIVE_COLUMN, GROUP_COLUMN})
_EXPRESSION_COLUMNS = ("relevant", "constraint", "calculation", "choice_filter")
_PIPED = re.compile(r"\$\{")
_MEDIA_COLUMNS = frozenset({"image", "big-image", "audio", "video"})
_TRUE = frozenset({"yes", "true", "true()", "1"})


@dataclass(frozen=True, slots=True)
class _Row:
    number: int
    cells: Mapping[str, str]


def load_xlsform_bytes(
    raw: bytes, *, path: str, suffix: str, area: str = DEFAULT_AREA
) -> Interview:
    """Check and build the interview in an XLSForm's bytes; `suffix` names its format.

    Raises `conversations.loader.DefinitionError` listing every problem.
    """
    from conversations.loader import DefinitionError, Problem, check_questions

    reader = _Reader(path)
    unreadable = _unreadable(raw, suffix.lower())
    if unreadable is not None:
        raise DefinitionError([Problem(path, None, unreadable)])
    try:
        data = get_xlsform(BytesIO(raw), file_type=suffix.lower())
    except (PyXFormError, ValueError, KeyError, OSError, UnicodeDecodeError) as err:
        raise DefinitionError([Problem(path, None, f"cannot read the XLSForm: {err}")]) from None
    except Exception as err:  # pyxform fails in other ways on a malformed sheet
        message = f"cannot read the XLSForm ({type(err).__name__})"
        if suffix.lower() in (".csv", ".md"):
            message = f"cannot read the XLSForm: {_SHEET_NAMES_FIRST}"
        raise DefinitionError([Problem(path, None, message)]) from None
    rows = [_Row(i + 2, row) for i, row in enumerate(data.survey or ())]
    if not rows:
        raise DefinitionError([Problem(path, None, "has no 'survey' sheet with questions")])
    for row in rows:
        reader.check_row(row)
    for index, choice in enumerate(data.choices or ()):
        reader.check_choice(index + 2, choice)
    reader.check_across(rows, data.choices or ())
    try:
        form = workbook_to_json(data, warnings=[])
    except PyXFormError as err:
        reader.pyxform_problem(str(err))
        raise DefinitionError(_by_row(reader.problems)) from None
    except Exception as err:  # pyxform may fail in other ways on a broken sheet
        reader.pyxform_problem(f"{type(err).__name__}: {err}")
        raise DefinitionError(_by_row(reader.problems)) from None
    if reader.problems:
        raise DefinitionError(reader.problems)
    interview = reader.interview(form, rows)
    if interview is not None:
        check_questions(interview, path, reader.rows_by_name, reader.problems)
    if reader.problems or interview is None:
        raise DefinitionError(_by_row(reader.problems))
    return interview


_SHEET_NAMES_FIRST = (
    "a CSV or Markdown XLSForm names each sheet ('survey', 'choices', 'settings') in its "
    "first column, on a line of its own above the sheet's header"
)


def _unreadable(raw: bytes, suffix: str) -> str | None:
    """Why these bytes cannot be an XLSForm of this kind, when that is plain at once."""
    if not raw.strip():
        return "is empty; an XLSForm needs a 'survey' sheet"
    if suffix == ".xlsx" and not raw.startswith(b"PK"):
        return "is not an Excel workbook (.xlsx), though its name ends in .xlsx"
    if suffix == ".xls" and not raw.startswith(b"\xd0\xcf\x11\xe0"):
        return "is not an Excel 97-2003 workbook (.xls), though its name ends in .xls"
    return None


def _by_row(problems: list[Any]) -> list[Any]:
    return sorted(problems, key=lambda p: p.line or 0)


class _Reader:
    """Reads the survey rows and pyxform's JSON, noting every problem."""

    def __init__(self, path: str) -> None:
        from conversations.loader import Problem

        self.path = path
        self.problems: list[Problem] = []
        self.rows_by_name: dict[str, int] = {}
        self.names_by_row: dict[int, str] = {}

    def problem(
        self, message: str, row: int | None = None, qid: str | None = None, sheet: str = SURVEY
    ) -> None:
        from conversations.loader import Problem

        sheet_named = sheet if row is not None else None
        self.problems.append(Problem(self.path, qid, message, row, sheet_named))

    def pyxform_problem(self, message: str) -> None:
        """pyxform's error (it stops at its first), unless it concerns a row already
        reported: the checks before pyxform name those problems, every one of them."""
        found = re.search(r"\[row : ?(\d+)\]\s*", message)
        if found is None:
            self.problem(message.strip())
        else:
            row = int(found.group(1))
            if any(p.line == row and p.sheet == SURVEY for p in self.problems):
                return
            text = message.replace(found.group(0), "").strip()
            self.problem(text, row, self.names_by_row.get(row))

    def check_across(self, rows: list[_Row], choices: Sequence[Mapping[str, str]]) -> None:
        """What pyxform would stop at one by one: a name used twice, a choice list not
        on the choices sheet, a reference to no question. Reported here all at once."""
        lists = {(c.get("list_name") or c.get("list name") or "").strip() for c in choices}
        first: dict[str, int] = {}
        others: set[str] = set()  # the "Other" texts of `... or_other` questions
        for row in rows:
            kind = row.cells.get("type", "").split()
            name = row.cells.get("name", "").strip()
            if not kind or kind[0] in ("end_group", "end", "begin_group", "begin"):
                continue
            if name in first:
                self.problem(f"name '{name}' is also used on row {first[name]}", row.number, name)
            elif name:
                first[name] = row.number
            if name and kind[-1] == "or_other":
                others.add(f"{name}_other")
            listed = kind[0] in ("select_one", "select_multiple") and len(kind) > 1
            if listed and kind[1] not in lists:
                self.problem(
                    f"choice list '{kind[1]}' is not on the 'choices' sheet", row.number, name
                )
        for row in rows:
            qid = row.cells.get("name", "").strip() or None
            for column in _EXPRESSION_COLUMNS:
                value = row.cells.get(column, "").strip()
                try:
                    named = references(parse(value, columns=column == "choice_filter"))
                except ExpressionError:
                    continue  # reported by check_row
                for ref in sorted(named - set(first) - others):
                    self.problem(f"{column}: refers to unknown question '{ref}'", row.number, qid)

    # Rows, before pyxform: types, columns and expressions ------------------------------

    def check_row(self, row: _Row) -> None:
        cells = row.cells
        name = cells.get("name")
        if name:
            self.rows_by_name.setdefault(name, row.number)
            self.names_by_row[row.number] = name
        kind = " ".join(cells.get("type", "").split())
        base = kind.split(" ")[0] if kind else ""
        if kind in _METADATA:
            return
        if base in _WHY_NOT or kind in _WHY_NOT:
            why = _WHY_NOT.get(base) or _WHY_NOT[kind]
            self.problem(f"type '{kind}' is not supported: {why}", row.number, name)
        elif base and base not in _XLSFORM_TYPES:
            self.problem(
                f"type '{kind}' is not supported; types are {_SUPPORTED_TYPES}", row.number, name
            )
        for column, value in cells.items():
            head = column.split("::")[0].strip()
            if head not in _COLUMNS and value.strip():
                self.problem(f"column '{column}' is not supported", row.number, name)
            if head in ("label", "hint") and _PIPED.search(value):
                self.problem(
                    f"{column}: answers shown inside a {head} (${{...}}) are not supported",
                    row.number,
                    name,
                )
            if column in _EXPRESSION_COLUMNS and value.strip():
                try:
                    parse(value, columns=column == "choice_filter")
                except ExpressionError as err:
                    self.problem(f"{column}: {err.message}", row.number, name)
        if name and not ID_PATTERN.match(name) and base != "end_group":
            self.problem(
                f"name '{name}' must start with a lowercase letter and have at most 32 "
                "lowercase letters, digits or _",
                row.number,
                name,
            )

    def check_choice(self, number: int, cells: Mapping[str, str]) -> None:
        """A row of the choices sheet: no pictures or sounds (a chat shows text buttons)."""
        for column, value in cells.items():
            head = column.split("::")[0].strip()
            if value.strip() and (head == "media" or head in _MEDIA_COLUMNS):
                self.problem(
                    f"column '{column}' is not supported: options are text buttons",
                    number,
                    sheet="choices",
                )

    # pyxform's JSON -> Interview --------------------------------------------------------

    def interview(self, form: Mapping[str, Any], rows: list[_Row]) -> Interview | None:
        form_id = str(form.get("id_string") or "")
        if not ID_PATTERN.match(form_id):
            self.problem(
                f"settings: form_id '{form_id}' must start with a lowercase letter and have "
                "at most 32 lowercase letters, digits or _"
            )
        version = form.get("version")
        if not version:
            self.problem("settings: 'version' is missing (responses record which they answered)")
        languages = _languages(form)
        default = str(form.get("default_language") or "default")
        if default in languages:
            languages.remove(default)
            languages.insert(0, default)
        or_other = {
            row.cells.get("name", ""): True
            for row in rows
            if row.cells.get("type", "").split()[-1:] == ["or_other"]
        }
        built = {language: self.build(form, language, default, or_other) for language in languages}
        if self.problems or not version or any(i is None for i in built.values()):
            return None
        main = built[languages[0]]
        assert main is not None
        if len(languages) == 1:
            return main
        translations = {lang: i for lang, i in built.items() if i is not None}
        return Interview(
            main.id,
            main.title,
            main.version,
            main.sections,
            main.description,
            languages=tuple(languages),
            translations=translations,
        )

    def build(
        self, form: Mapping[str, Any], language: str, default: str, or_other: Mapping[str, bool]
    ) -> Interview | None:
        words = _Words(language, default)
        title = words.text(form.get("title")) or str(form.get("id_string"))
        sections: list[Section] = []
        run: list[Question] = []  # the questions of the section being read
        opened: list[tuple[str, str]] = []  # its id and title, once it has a question
        used: set[str] = set()
        report = language == default or not self.problems

        def unique(base: str) -> str:
            section_id, number = base, 2
            while section_id in used:
                section_id = f"{base[:28]}_{number}"
                number += 1
            used.add(section_id)
            return section_id

        def flush() -> None:
            if run:
                sections.append(Section(opened[0][0], opened[0][1], tuple(run)))
                run.clear()
            opened.clear()

        def walk(children: list[Mapping[str, Any]], group: tuple[str, str] | None) -> None:
            """Each group's own questions are a section; a nested group's title follows
            its parents' ("Organisation – Where"); questions outside groups make sections
            titled as the form."""
            for child in children:
                kind = child.get("type")
                if kind == "group":
                    if child.get("control", {}).get("bodyless"):
                        continue  # pyxform's meta group (instanceID)
                    name = str(child.get("name"))
                    label = words.text(child.get("label")) or name
                    inner = (name, label if group is None else f"{group[1]} – {label}")
                    flush()
                    walk(child.get("children", []), inner)
                    flush()
                    continue
                if kind in _METADATA:
                    continue  # start, end, deviceid...: nothing to ask
                name = str(child.get("name"))
                if name.endswith("_other") and or_other.get(name[: -len("_other")]):
                    continue  # pyxform's text for "Other"; the engine asks it itself
                if not opened:
                    base, section_title = group or (f"part_{len(sections) + 1}", title)
                    opened.append((unique(base), section_title))
                question = self.question(child, words, opened[0][0], or_other, report)
                if question is not None:
                    run.append(question)

        walk(list(form.get("children", [])), None)
        flush()
        sections = [s for s in sections if s.questions]
        if not sections:
            self.problem("the form has no questions")
            return None
        return Interview(
            str(form.get("id_string")),
            title,
            str(form.get("version") or ""),
            tuple(sections),
            _text_or_none(form.get("skillsbot_description")),
        )

    def question(
        self,
        item: Mapping[str, Any],
        words: _Words,
        section_id: str,
        or_other: Mapping[str, bool],
        report: bool,
    ) -> Question | None:
        name = str(item.get("name"))
        row = self.rows_by_name.get(name)
        kind = str(item.get("type"))
        qtype = _TYPES.get(kind)
        own = item.get("skillsbot_type")
        if own is not None:
            wanted = _OWN_TYPES.get(str(own))
            if wanted is None or wanted[1] != kind:
                if report:
                    self.problem(f"skillsbot_type '{own}' does not fit type '{kind}'", row, name)
                return None
            qtype = wanted[0]
        if qtype is None:
            if report:
                self.problem(f"type '{kind}' is not supported", row, name)
            return None
        bind = item.get("bind", {})

        def condition(source: Any, *, columns: bool = False) -> Condition | None:
            if not source:
                return None
            return Condition(str(source), parse(str(source), columns=columns))

        default = item.get("default")
        calculation = condition(bind.get("calculate"))
        if kind == "hidden":
            value = "" if default is None else str(default)
            quoted = f'"{value}"' if "'" in value else f"'{value}'"
            calculation, default = Condition(quoted, parse(quoted)), None
        if kind == "calculate" and calculation is None and default:
            calculation, default = condition(default), None
        if qtype == "calculate" and calculation is None:
            if report:
                self.problem("a calculate needs a 'calculation'", row, name)
            return None
        label = words.text(item.get("label"))
        if not label and qtype != "calculate":
            if report:
                self.problem("'label' is empty", row, name)
            return None
        choices: tuple[Choice, ...] = ()
        other = bool(or_other.get(name))
        if qtype in ("consent", "yes_no"):
            listed = {str(c.get("name")) for c in item.get("choices", [])}
            if listed != {"yes", "no"} and report:
                self.problem(f"a {qtype} question needs the choices 'yes' and 'no'", row, name)
        elif qtype in ("select_one", "select_multiple"):
            choices = tuple(
                Choice(
                    str(c.get("name")),
                    words.text(c.get("label")) or str(c.get("name")),
                    tuple(
                        (str(k), str(v))
                        for k, v in c.items()
                        if k not in ("name", "label", *_CHOICE_OWN_COLUMNS)
                        and not isinstance(v, dict)
                    ),
                    exclusive=str(c.get(EXCLUSIVE_COLUMN, "")).strip().lower() in _TRUE,
                    group=words.text(c.get(GROUP_COLUMN)),
                )
                for c in item.get("choices", [])
                if not (other and c.get("name") == OTHER_VALUE)
            )
        low, high = _number(item.get("skillsbot_min")), _number(item.get("skillsbot_max"))
        if kind == "range":
            low, high = self.range_ends(item, row, name, report)
        required = str(bind.get("required", "")).strip().lower() in _TRUE
        return Question(
            id=name,
            type=qtype,
            label=label or "",
            section_id=section_id,
            hint=words.text(item.get("hint")),
            # Notes and calculations are never asked; the YAML loader's default is True.
            required=required or qtype in ("consent", "note", "calculate"),
            choices=choices,
            relevant=condition(bind.get("relevant")),
            constraint=condition(bind.get("constraint")),
            constraint_message=words.text(bind.get("jr:constraintMsg")),
            min=low,
            max=high,
            min_label=_text_or_none(item.get("skillsbot_min_label")),
            max_label=_text_or_none(item.get("skillsbot_max_label")),
            other=other,
            required_message=words.text(bind.get("jr:requiredMsg")),
            default=None if default is None else str(default),
            choice_filter=condition(item.get("choice_filter"), columns=True),
            calculation=calculation if qtype == "calculate" else None,
            short_label=words.text(item.get("skillsbot_short_label")),
            profile=_text_or_none(item.get("skillsbot_profile")),
        )

    def range_ends(
        self, item: Mapping[str, Any], row: int | None, name: str, report: bool
    ) -> tuple[float | None, float | None]:
        """A range's start and end, as the ends of a scale of whole steps of 1."""
        parameters = item.get("parameters") or {}
        start = _number(parameters.get("start", "1"))
        end = _number(parameters.get("end", "10"))
        step = _number(parameters.get("step", "1"))
        if step != 1 or start is None or end is None or start != int(start) or end != int(end):
            if report:
                self.problem("a range is asked as a scale: whole numbers in steps of 1", row, name)
            return start, end
        if not 1 <= end - start < MAX_SCALE_POINTS and report:
            self.problem(
                f"a range is asked as a scale of 2 to {MAX_SCALE_POINTS} points", row, name
            )
        return int(start), int(end)


_XLSFORM_TYPES = frozenset(
    {
        "text",
        "integer",
        "decimal",
        "select_one",
        "select_multiple",
        "select_one_from_file",
        "note",
        "acknowledge",
        "date",
        "range",
        "calculate",
        "hidden",
        "begin_group",
        "end_group",
        "begin",
        "end",
    }
)


@dataclass(frozen=True, slots=True)
class _Words:
    """Picks the text of one language from pyxform's label values (text, or by language)."""

    language: str
    default: str

    def text(self, value: Any) -> str | None:
        if isinstance(value, dict):
            for key in (self.language, self.default, "default"):
                if value.get(key):
                    return str(value[key]).strip() or None
            return next((str(v).strip() for v in value.values() if v), None)
        return _text_or_none(value)


def _text_or_none(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(str(value))
    except ValueError:
        return None
    return int(number) if number.is_integer() else number


def _languages(form: Mapping[str, Any]) -> list[str]:
    """The languages the form's labels are written in (["default"] when untranslated)."""
    found: dict[str, None] = {}

    def visit(children: list[Mapping[str, Any]]) -> None:
        for child in children:
            label = child.get("label")
            if isinstance(label, dict):
                found.update(dict.fromkeys(label))
            visit(child.get("children", []))

    visit(list(form.get("children", [])))
    return list(found) or ["default"]
