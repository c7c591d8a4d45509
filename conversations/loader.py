"""Load interview definitions from YAML, checking the whole file before anything runs.

`load_interview` reads a file and returns an `Interview`, or raises `DefinitionError`
listing every problem found, each with the question it concerns and a line number, so an
author fixes a file in one pass. No input, however broken, gives anything but a
`DefinitionError`.

YAML is read with the composer (nodes keep their line numbers). Text fields take the text
as written, so `label: Yes` is the text "Yes" and `value: 010` the value "010", never a
boolean or an octal number.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from conversations.areas import DEFAULT_AREA, UnknownArea, districts, resolve_area
from conversations.definition import (
    CHOICE_TYPES,
    OTHER_VALUE,
    PROFILE_DECLARATIONS,
    PROFILE_TYPES,
    QUESTION_TYPES,
    RECONTACT_FIELD,
    Choice,
    Condition,
    Interview,
    Question,
    QuestionType,
    Section,
    other_key,
)
from conversations.expressions import (
    Arith,
    BoolOp,
    Call,
    Compare,
    Expr,
    ExpressionError,
    Neg,
    Ref,
    String,
    parse,
    references,
    uses_current,
)

__all__ = [
    "DefinitionError",
    "Problem",
    "builtin_interview_path",
    "check_questions",
    "exclusive_problems",
    "load_definition_bytes",
    "load_interview",
    "load_interview_text",
]

# Ids become answer keys and, with choice values, Telegram callback data (64 bytes in all).
ID_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,31}\Z")
VALUE_PATTERN = re.compile(r"[A-Za-z0-9_.+-]{1,32}\Z")
MAX_FILE_BYTES = 1_000_000
XLSFORM_SUFFIXES = (".xlsx", ".xls", ".csv", ".md")
MAX_NESTING = 32
MAX_VALUES = 100_000
MAX_SCALE_POINTS = 11
LSIP_DISTRICTS = "lsip_districts"
CHOICE_SOURCES = (LSIP_DISTRICTS,)

_INTERVIEW_KEYS = ("id", "title", "version", "description", "sections")
_SECTION_KEYS = ("id", "title", "questions")
_CHOICE_KEYS = ("value", "label", "columns", "exclusive", "group")
# `{area}` in a label, hint or choice label is the LSIP area's name ("Outside {area}").
AREA_PLACEHOLDER = "{area}"
_BASE_KEYS = ("id", "type", "label", "hint", "relevant")
_ANSWER_KEYS = (
    *_BASE_KEYS,
    "short_label",
    "profile",
    "required",
    "required_message",
    "constraint",
    "constraint_message",
    "default",
)
_CHOICE_LIST_KEYS = ("choices", "choices_from", "other", "choice_filter")
# The keys each question type takes; a key of another type is reported as not applying.
_KEYS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "note": _BASE_KEYS,
    "consent": (*_BASE_KEYS, "short_label"),
    "text": (*_ANSWER_KEYS, "min", "max"),
    "integer": (*_ANSWER_KEYS, "min", "max"),
    "decimal": (*_ANSWER_KEYS, "min", "max"),
    "select_one": (*_ANSWER_KEYS, *_CHOICE_LIST_KEYS),
    "select_multiple": (*_ANSWER_KEYS, *_CHOICE_LIST_KEYS, "min", "max"),
    "scale": (*_ANSWER_KEYS, "min", "max", "min_label", "max_label"),
    "yes_no": _ANSWER_KEYS,
    "date": _ANSWER_KEYS,
    "acknowledge": _ANSWER_KEYS,
    "calculate": ("id", "type", "calculation"),
}
_QUESTION_KEYS = tuple(dict.fromkeys(k for keys in _KEYS_BY_TYPE.values() for k in keys))
# The values a condition may compare an answer with, for types whose values are fixed.
_FIXED_VALUES: dict[str, frozenset[str]] = {
    "yes_no": frozenset({"yes", "no"}),
    "consent": frozenset({"yes"}),
    "acknowledge": frozenset({"OK"}),
}

# libyaml's loader is ten times faster and keeps line numbers just as well.
_YAML_LOADER: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(
    yaml, "CSafeLoader", yaml.SafeLoader
)
_TAG = "tag:yaml.org,2002:"
_NULL, _BOOL, _INT, _FLOAT = (_TAG + t for t in ("null", "bool", "int", "float"))


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an interview file.

    `str(problem)` is `PATH: question 'ID': message` for a problem with a question, else
    `PATH: line N: message` (or `PATH: message` when no line is known).
    """

    path: str
    question_id: str | None
    message: str
    line: int | None = None
    # For an XLSForm: the sheet, and `line` is the row (`PATH: sheet 'survey' row N: ...`).
    sheet: str | None = None

    def __str__(self) -> str:
        if self.sheet is not None:
            where = f"{self.path}: sheet '{self.sheet}' row {self.line}"
            if self.question_id is not None:
                return f"{where}: question '{self.question_id}': {self.message}"
            return f"{where}: {self.message}"
        if self.question_id is not None:
            return f"{self.path}: question '{self.question_id}': {self.message}"
        if self.line is not None:
            return f"{self.path}: line {self.line}: {self.message}"
        return f"{self.path}: {self.message}"


class DefinitionError(ValueError):
    """An interview file with problems; `problems` lists every one, in file order."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def builtin_interview_path() -> Path:
    """The path of the built-in LSIP employer interview shipped with the package."""
    return Path(str(resources.files("conversations").joinpath("interviews", "lsip_employer.yaml")))


def builtin_interview_versions() -> list[Path]:
    """Earlier versions of the built-in interview, shipped in `interviews/earlier/`: what
    responses begun before it changed are still read and reported with."""
    folder = builtin_interview_path().parent
    return sorted((folder / "earlier").glob(f"{builtin_interview_path().stem}.v*.yaml"))


def load_interview(path: str | Path, *, area: str = DEFAULT_AREA) -> Interview:
    """Read, check and build the interview in the YAML file at `path`.

    `area` is the LSIP area whose districts fill `choices_from: lsip_districts`.
    Raises `DefinitionError` (and nothing else) when the file cannot be used.
    """
    shown = str(path)
    try:
        raw = Path(path).read_bytes()
    except IsADirectoryError:
        raise DefinitionError([Problem(shown, None, "is a directory, not a file")]) from None
    except FileNotFoundError:
        raise DefinitionError([Problem(shown, None, "no such file")]) from None
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise DefinitionError([Problem(shown, None, f"cannot read the file: {reason}")]) from None
    return load_definition_bytes(raw, path=shown, area=area)


def load_definition_bytes(raw: bytes, *, path: str, area: str = DEFAULT_AREA) -> Interview:
    """Check and build an interview from a file's bytes: an XLSForm when `path` ends in
    .xlsx, .xls, .csv or .md, else YAML. Raises `DefinitionError` (and nothing else)."""
    shown = path
    if len(raw) > MAX_FILE_BYTES:
        raise DefinitionError([Problem(shown, None, _too_big(len(raw)))])
    suffix = Path(path).suffix.lower()
    if suffix in XLSFORM_SUFFIXES:
        # pyxform (with openpyxl) loads only when a form needs it: the bot stays light.
        from conversations.xlsform import load_xlsform_bytes

        return load_xlsform_bytes(raw, path=shown, suffix=suffix, area=area)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        message = f"is not UTF-8 text (byte {err.start + 1} cannot be read)"
        raise DefinitionError([Problem(shown, None, message, line)]) from None
    return load_interview_text(text, path=shown, area=area)


def load_interview_text(
    text: str, *, path: str = "<string>", area: str = DEFAULT_AREA
) -> Interview:
    """Check and build an interview from YAML text; `path` names it in problems."""
    if len(text) > MAX_FILE_BYTES:
        raise DefinitionError([Problem(path, None, _too_big(len(text)))])
    root = _compose(text, path)
    checker = _Checker(path, area)
    interview = checker.interview(root)
    if checker.problems or interview is None:
        ordered = sorted(checker.problems, key=lambda p: p.line or 0)
        raise DefinitionError(ordered)
    return interview


def check_questions(
    interview: Interview, path: str, rows: dict[str, int], problems: list[Problem]
) -> None:
    """The checks across questions of the YAML loader (ids, references, compared values),
    for an interview read another way; `rows` gives each question's row in the survey sheet.
    """
    checker = _Checker(path, DEFAULT_AREA)
    parsed = [
        _Parsed(q, rows.get(q.id, 0), dict.fromkeys(_CROSS_KEYS, rows.get(q.id, 0)))
        for q in interview.questions
    ]
    checker.cross_check(parsed)
    problems.extend(
        Problem(p.path, p.question_id, p.message, p.line, "survey") for p in checker.problems
    )


_CROSS_KEYS = ("relevant", "constraint", "calculation", "choice_filter", "profile")


def _too_big(size: int) -> str:
    return f"is {size:,} bytes; an interview file must be under {MAX_FILE_BYTES:,}"


# --- Reading YAML -------------------------------------------------------------------------


def _compose(text: str, path: str) -> yaml.Node:
    """The document's node tree, or DefinitionError for anything that is not usable YAML."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:  # a lone surrogate, from text decoded carelessly
        bad_line = text.count("\n", 0, err.start) + 1
        raise DefinitionError(
            [Problem(path, None, "contains text that is not valid Unicode", bad_line)]
        ) from None
    try:
        root = yaml.compose(text, Loader=_YAML_LOADER)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        what = "; ".join(str(part) for part in (err.context, err.problem) if part)
        mark_line = mark.line + 1 if mark is not None else None
        raise DefinitionError([Problem(path, None, f"not valid YAML: {what}", mark_line)]) from None
    except yaml.reader.ReaderError as err:
        char_line = text.count("\n", 0, err.position) + 1
        message = f"contains a character YAML does not allow (#x{err.character:04x})"
        if isinstance(err.character, bytes):  # only when YAML reads bytes; we give it text
            message = "contains bytes YAML cannot read"
        raise DefinitionError([Problem(path, None, message, char_line)]) from None
    except yaml.YAMLError as err:
        raise DefinitionError([Problem(path, None, f"not valid YAML: {err}")]) from None
    except RecursionError:
        raise DefinitionError(
            [Problem(path, None, "is nested too deeply to be an interview")]
        ) from None
    if root is None:
        raise DefinitionError(
            [Problem(path, None, "is empty; an interview needs id, title, version and sections")]
        )
    shape = _shape_problem(root)
    if shape is not None:
        message, line = shape
        raise DefinitionError([Problem(path, None, message, line)])
    return root


def _shape_problem(root: yaml.Node) -> tuple[str, int] | None:
    """Aliases that loop or multiply, and absurd nesting, before anything reads the tree.

    Aliases (`*skills`) may reuse a list, but every use counts, so a few nested aliases
    cannot expand into millions of values; a loop would nest without end.
    """
    visits = 0
    stack: list[tuple[yaml.Node, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        visits += 1
        if depth > MAX_NESTING:
            return "is nested too deeply to be an interview (an alias inside itself?)", _line(node)
        if visits > MAX_VALUES:
            return f"holds more than {MAX_VALUES:,} values (aliases used too often?)", _line(node)
        if isinstance(node, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend(((key, depth + 1), (value, depth + 1)))
    return None


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return {_NULL: "empty", _BOOL: "true/false", _INT: "a number", _FLOAT: "a number"}.get(
        node.tag, "text"
    )


def _suggest(word: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


# --- Checking -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Entry:
    key_line: int
    node: yaml.Node


@dataclass(slots=True)
class _Parsed:
    """A question as read, with what the cross-question checks need."""

    question: Question
    line: int
    lines: dict[str, int] = field(default_factory=dict)


class _Checker:
    """Walks the node tree once, noting every problem and building what it can."""

    def __init__(self, path: str, area: str) -> None:
        self.path = path
        self.problems: list[Problem] = []
        self.area: str | None = None
        self.area_error: str | None = None
        try:
            self.area = resolve_area(area)
        except UnknownArea as err:
            self.area_error = str(err)

    def problem(self, message: str, line: int | None, question_id: str | None = None) -> None:
        self.problems.append(Problem(self.path, question_id, message, line))

    def worded(self, text: str) -> str:
        """The text with `{area}` replaced by the area's name."""
        if self.area is None or AREA_PLACEHOLDER not in text:
            return text
        return text.replace(AREA_PLACEHOLDER, self.area)

    # Reading fields of a mapping ------------------------------------------------------

    def mapping(
        self, node: yaml.Node, what: str, allowed: Sequence[str], qid: str | None = None
    ) -> dict[str, _Entry] | None:
        """The entries of a mapping node by key; reports duplicate and unknown keys."""
        if not isinstance(node, yaml.MappingNode):
            self.problem(
                f"{what} must be a mapping of keys to values, not {_kind(node)}", _line(node), qid
            )
            return None
        entries: dict[str, _Entry] = {}
        own = "" if what == "a question" and qid else f"{what}: "  # "question 'x': " says it
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _NULL:
                self.problem(f"{what} has a key that is not a name", _line(key_node), qid)
                continue
            key = str(key_node.value)
            if key in entries:
                self.problem(f"{what} has the key '{key}' twice", _line(key_node), qid)
                continue
            if key not in allowed:
                self.problem(
                    f"{own}unknown key '{key}'{_suggest(key, allowed)}", _line(key_node), qid
                )
                continue
            entries[key] = _Entry(_line(key_node), value_node)
        return entries

    def text(
        self,
        entries: dict[str, _Entry],
        key: str,
        line: int,
        qid: str | None = None,
        *,
        required: bool = False,
        what: str = "",
    ) -> str | None:
        """A text field as written (any scalar); reports a missing, empty or nested value."""
        prefix = f"{what} " if what else ""
        entry = entries.get(key)
        if entry is None:
            if required:
                self.problem(f"{prefix}'{key}' is missing", line, qid)
            return None
        node = entry.node
        if not isinstance(node, yaml.ScalarNode):
            self.problem(f"{prefix}'{key}' must be text, not {_kind(node)}", entry.key_line, qid)
            return None
        value = str(node.value).strip()
        if node.tag == _NULL or not value:
            if required:
                self.problem(f"{prefix}'{key}' is empty", entry.key_line, qid)
            return None
        return value

    def flag(self, entries: dict[str, _Entry], key: str, qid: str, default: bool) -> bool:
        """A true/false field."""
        entry = entries.get(key)
        if entry is None:
            return default
        node = entry.node
        if isinstance(node, yaml.ScalarNode) and node.tag == _BOOL:
            return bool(yaml.constructor.SafeConstructor.bool_values[str(node.value).lower()])
        self.problem(f"'{key}' must be true or false, not {_kind(node)}", entry.key_line, qid)
        return default

    def number(
        self, entries: dict[str, _Entry], key: str, qid: str, *, whole: bool
    ) -> float | None:
        """A numeric field (finite; whole when `whole`)."""
        entry = entries.get(key)
        if entry is None:
            return None
        node = entry.node
        value: Any = None
        if isinstance(node, yaml.ScalarNode) and node.tag in (_INT, _FLOAT):
            try:
                value = yaml.constructor.SafeConstructor().construct_object(node)
            except (yaml.YAMLError, ValueError):
                value = None
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not math.isfinite(value)
        ):
            self.problem(f"'{key}' must be a number, not {_kind(node)}", entry.key_line, qid)
            return None
        if whole and not (isinstance(value, int) or value.is_integer()):
            self.problem(f"'{key}' must be a whole number, not {value}", entry.key_line, qid)
            return None
        return int(value) if whole else value

    def condition(
        self, entries: dict[str, _Entry], key: str, qid: str, *, columns: bool = False
    ) -> Condition | None:
        """An expression field, parsed; reports the parser's message."""
        source = self.text(entries, key, entries[key].key_line if key in entries else 0, qid)
        if source is None:
            if key in entries:
                self.problem(f"'{key}' is empty", entries[key].key_line, qid)
            return None
        try:
            return Condition(source, parse(source, columns=columns))
        except ExpressionError as err:
            self.problem(f"{key}: {err.message}", entries[key].key_line, qid)
            return None

    # The file, its sections and questions ----------------------------------------------

    def interview(self, root: yaml.Node) -> Interview | None:
        """The whole interview, or None when it could not be built."""
        top = self.mapping(root, "the file", _INTERVIEW_KEYS)
        if top is None:
            return None
        if self.area_error is not None:
            self.problem(self.area_error, None)
        line = _line(root)
        interview_id = self.text(top, "id", line, required=True, what="the interview")
        if interview_id is not None and not ID_PATTERN.match(interview_id):
            self.problem(_bad_id("the interview id", interview_id), top["id"].key_line)
        title = self.text(top, "title", line, required=True, what="the interview")
        version = self.version(top, line)
        description = self.text(top, "description", line)
        sections_entry = top.get("sections")
        if sections_entry is None:
            self.problem("'sections' is missing", line)
            return None
        if not isinstance(sections_entry.node, yaml.SequenceNode) or not sections_entry.node.value:
            self.problem("'sections' must be a list of sections", sections_entry.key_line)
            return None
        drafts: list[tuple[str, str, list[_Parsed]]] = []
        section_lines: dict[str, int] = {}
        for node in sections_entry.node.value:
            draft = self.section(node)
            if draft is None:
                continue
            section_id = draft[0]
            if section_id in section_lines:
                self.problem(
                    f"section id '{section_id}' is also used by the section on line "
                    f"{section_lines[section_id]}",
                    _line(node),
                )
            else:
                section_lines[section_id] = _line(node)
            drafts.append(draft)
        parsed = [p for _, _, questions in drafts for p in questions]
        self.cross_check(parsed)
        if self.problems or interview_id is None or title is None or version is None:
            return None
        sections = tuple(
            Section(sid, stitle, tuple(p.question for p in questions))
            for sid, stitle, questions in drafts
        )
        return Interview(interview_id, title, version, sections, description)

    def version(self, top: dict[str, _Entry], line: int) -> str | None:
        entry = top.get("version")
        if (
            entry is not None
            and isinstance(entry.node, yaml.ScalarNode)
            and entry.node.tag == _FLOAT
        ):
            # 1.10 would read back as 1.1: ask for text rather than guess.
            self.problem(
                f"'version' must be text; write it in quotes: version: \"{entry.node.value}\"",
                entry.key_line,
            )
            return None
        return self.text(top, "version", line, required=True, what="the interview")

    def section(self, node: yaml.Node) -> tuple[str, str, list[_Parsed]] | None:
        entries = self.mapping(node, "a section", _SECTION_KEYS)
        if entries is None:
            return None
        line = _line(node)
        section_id = self.text(entries, "id", line, required=True, what="a section")
        if section_id is not None and not ID_PATTERN.match(section_id):
            self.problem(_bad_id(f"section id '{section_id}'", section_id), entries["id"].key_line)
        where = f"section '{section_id}'" if section_id else "a section"
        title = self.text(entries, "title", line, required=True, what=where)
        questions_entry = entries.get("questions")
        if questions_entry is None:
            self.problem(f"{where}: 'questions' is missing", line)
            return None
        questions_node = questions_entry.node
        if not isinstance(questions_node, yaml.SequenceNode) or not questions_node.value:
            self.problem(
                f"{where}: 'questions' must be a list of questions", questions_entry.key_line
            )
            return None
        parsed = [self.question(q, section_id or "") for q in questions_node.value]
        if section_id is None or title is None:
            return None
        return section_id, title, [p for p in parsed if p is not None]

    def question(self, node: yaml.Node, section_id: str) -> _Parsed | None:
        line = _line(node)
        entries = self.mapping(node, "a question", _QUESTION_KEYS, _written_id(node))
        if entries is None:
            return None
        qid = self.text(entries, "id", line, what="a question")
        if qid is None:
            self.problem("a question has no 'id'", line)
            return None
        if not ID_PATTERN.match(qid):
            self.problem(_bad_id("its id", qid), entries["id"].key_line, qid)
        type_name = self.text(entries, "type", line, qid, required=True)
        label = self.text(entries, "label", line, qid, required=type_name != "calculate")
        if type_name is None:
            return None
        if type_name not in QUESTION_TYPES:
            self.problem(
                f"unknown type '{type_name}'{_suggest(type_name, QUESTION_TYPES)}; types are "
                + ", ".join(QUESTION_TYPES),
                entries["type"].key_line,
                qid,
            )
            return None
        qtype: QuestionType = type_name
        for key, entry in entries.items():
            if key not in _KEYS_BY_TYPE[qtype]:
                self.problem(f"'{key}' does not apply to a {qtype} question", entry.key_line, qid)
        present = {k: e for k, e in entries.items() if k in _KEYS_BY_TYPE[qtype]}
        relevant = self.condition(present, "relevant", qid) if "relevant" in present else None
        if relevant is not None and uses_current(relevant.expr):
            self.problem(
                "relevant: '.' (the answer being checked) only makes sense in a constraint",
                present["relevant"].key_line,
                qid,
            )
        constraint = self.condition(present, "constraint", qid) if "constraint" in present else None
        constraint_message = self.text(present, "constraint_message", line, qid)
        if "constraint_message" in present and "constraint" not in present:
            self.problem(
                "'constraint_message' without a 'constraint'",
                present["constraint_message"].key_line,
                qid,
            )
        other = self.flag(present, "other", qid, default=False)
        calculation = None
        if qtype == "calculate":
            calculation = self.condition(present, "calculation", qid)
            if "calculation" not in present:
                self.problem("a calculate question needs a 'calculation'", line, qid)
        choice_filter = (
            self.condition(present, "choice_filter", qid, columns=True)
            if "choice_filter" in present
            else None
        )
        choices = self.choices(present, qtype, qid, other, line) if qtype in CHOICE_TYPES else ()
        low, high = self.bounds(present, qtype, qid, len(choices) + int(other))
        hint = self.text(present, "hint", line, qid)
        question = Question(
            id=qid,
            type=qtype,
            label=self.worded(label or ""),
            section_id=section_id,
            hint=self.worded(hint) if hint is not None else None,
            required=self.flag(present, "required", qid, default=True),
            choices=choices,
            relevant=relevant,
            constraint=constraint,
            constraint_message=constraint_message,
            min=low,
            max=high,
            min_label=self.text(present, "min_label", line, qid),
            max_label=self.text(present, "max_label", line, qid),
            other=other,
            required_message=self.text(present, "required_message", line, qid),
            default=self.text(present, "default", line, qid),
            choice_filter=choice_filter,
            calculation=calculation,
            short_label=self.text(present, "short_label", line, qid),
            profile=self.text(present, "profile", line, qid),
        )
        lines = {key: entry.key_line for key, entry in entries.items()}
        return _Parsed(question, line, lines)

    def choices(
        self, entries: dict[str, _Entry], qtype: str, qid: str, other: bool, line: int
    ) -> tuple[Choice, ...]:
        """The choices of a select question, from the file or from `choices_from`."""
        source = self.text(entries, "choices_from", 0, qid)
        listed = entries.get("choices")
        sourced: tuple[Choice, ...] = ()
        if source is not None:
            if source not in CHOICE_SOURCES:
                self.problem(
                    f"choices_from: unknown source '{source}'; sources are "
                    + ", ".join(CHOICE_SOURCES),
                    entries["choices_from"].key_line,
                    qid,
                )
                return ()
            if self.area is None:
                return ()
            sourced = tuple(Choice(d.code, d.name) for d in districts(self.area))
            if listed is None:
                return sourced
        if listed is None:
            self.problem(f"a {qtype} question needs 'choices' (or 'choices_from')", line, qid)
            return ()
        if not isinstance(listed.node, yaml.SequenceNode) or not listed.node.value:
            self.problem("'choices' must be a list of {value, label}", listed.key_line, qid)
            return ()
        # With `choices_from`, the listed choices follow the source's ("Outside {area}").
        return (*sourced, *self.listed_choices(listed, qid, other, sourced))

    def listed_choices(
        self, listed: _Entry, qid: str, other: bool, sourced: tuple[Choice, ...]
    ) -> list[Choice]:
        """The choices written in the file, checked."""
        assert isinstance(listed.node, yaml.SequenceNode)
        sourced_values = {choice.value for choice in sourced}
        found: list[Choice] = []
        values: dict[str, int] = {}
        labels: dict[str, int] = {}
        for node in listed.node.value:
            item = self.mapping(node, "a choice", _CHOICE_KEYS, qid)
            if item is None:
                continue
            line = _line(node)  # the choice's own line from here on
            value = self.text(item, "value", line, qid, required=True, what="a choice")
            label = self.text(item, "label", line, qid, required=True, what="a choice")
            if value is None or label is None:
                continue
            if not VALUE_PATTERN.match(value):
                self.problem(
                    f"choice value '{value}' must be 1 to 32 letters, digits or _ . + -",
                    line,
                    qid,
                )
            if other and value == OTHER_VALUE:
                self.problem(
                    f"choice value '{OTHER_VALUE}' is reserved for 'other: true'; "
                    "drop this choice or the flag",
                    line,
                    qid,
                )
            if value in values:
                self.problem(
                    f"choice value '{value}' is used twice (lines {values[value]} and {line})",
                    line,
                    qid,
                )
            if value in sourced_values:
                self.problem(
                    f"choice value '{value}' is already a value of 'choices_from'", line, qid
                )
            if label.casefold() in labels:
                self.problem(f"choice label '{label}' is used twice", line, qid)
            values.setdefault(value, line)
            labels.setdefault(label.casefold(), line)
            found.append(
                Choice(
                    value,
                    self.worded(label),
                    self.choice_columns(item, qid),
                    exclusive=self.flag(item, "exclusive", qid, default=False),
                    group=self.text(item, "group", line, qid, what="a choice"),
                )
            )
        return found

    def choice_columns(self, item: dict[str, _Entry], qid: str) -> tuple[tuple[str, str], ...]:
        """A choice's further columns (`columns: {county: a}`), read by a choice_filter."""
        entry = item.get("columns")
        if entry is None:
            return ()
        node = entry.node
        if not isinstance(node, yaml.MappingNode) or not all(
            isinstance(k, yaml.ScalarNode) and isinstance(v, yaml.ScalarNode) for k, v in node.value
        ):
            self.problem("a choice's 'columns' must map names to text", entry.key_line, qid)
            return ()
        return tuple((str(k.value), str(v.value)) for k, v in node.value)

    def bounds(
        self, entries: dict[str, _Entry], qtype: str, qid: str, choice_count: int
    ) -> tuple[float | None, float | None]:
        """`min` and `max`, checked for what they bound in this type of question."""
        whole = qtype != "decimal"
        low = self.number(entries, "min", qid, whole=whole)
        high = self.number(entries, "max", qid, whole=whole)
        counts = {"text": "a length", "select_multiple": "a number of selections"}
        for key, value in (("min", low), ("max", high)):
            if value is not None and qtype in counts and value < 0:
                self.problem(
                    f"'{key}' is {counts[qtype]} and cannot be negative", entries[key].key_line, qid
                )
        if qtype == "scale":
            low = 1 if low is None else low
            high = 5 if high is None else high
        if low is not None and high is not None:
            line = entries["max"].key_line if "max" in entries else None
            if low > high:
                self.problem(
                    f"min ({_number(low)}) is greater than max ({_number(high)})", line, qid
                )
            elif qtype == "scale" and not 1 <= high - low < MAX_SCALE_POINTS:
                self.problem(
                    f"a scale needs 2 to {MAX_SCALE_POINTS} points, not {int(high - low) + 1}",
                    line,
                    qid,
                )
        if qtype == "select_multiple" and choice_count and low is not None and low > choice_count:
            self.problem(
                f"min ({_number(low)}) asks for more selections than there are choices "
                f"({choice_count})",
                entries["min"].key_line,
                qid,
            )
        return low, high

    # Checks across questions -----------------------------------------------------------

    def profile_check(self, parsed: list[_Parsed]) -> None:
        """Each `profile:` names a known field, fits its question's type, and is used once."""
        filled_by: dict[str, str] = {}
        for p in parsed:
            q = p.question
            if q.profile is None:
                continue
            line = p.lines.get("profile", p.line)
            if q.profile not in PROFILE_DECLARATIONS:
                known = PROFILE_DECLARATIONS
                self.problem(
                    f"profile: unknown field '{q.profile}'{_suggest(q.profile, known)}; "
                    "fields are " + ", ".join(known),
                    line,
                    q.id,
                )
            elif q.profile == RECONTACT_FIELD and q.type != "yes_no":
                self.problem(
                    f"profile: an answer of type {q.type} cannot fill '{RECONTACT_FIELD}' "
                    "(a yes_no answer can)",
                    line,
                    q.id,
                )
            elif (
                q.profile != RECONTACT_FIELD
                and q.type not in PROFILE_TYPES
                and (q.profile, q.type) != ("size_band", "integer")
            ):
                self.problem(
                    f"profile: an answer of type {q.type} cannot fill '{q.profile}' (text and "
                    "select_one answers can; an integer headcount can fill size_band)",
                    line,
                    q.id,
                )
            elif q.profile in filled_by:
                self.problem(
                    f"profile: '{q.profile}' is already filled by question "
                    f"'{filled_by[q.profile]}'",
                    line,
                    q.id,
                )
            else:
                filled_by[q.profile] = q.id

    def cross_check(self, parsed: list[_Parsed]) -> None:
        """Duplicate ids, "Other" keys, consent order and what conditions refer to."""
        first: dict[str, _Parsed] = {}
        for p in parsed:
            q = p.question
            if q.id in first:
                self.problem(
                    f"id '{q.id}' is also used by the question on line {first[q.id].line}",
                    p.line,
                    q.id,
                )
            else:
                first[q.id] = p
        position = {qid: i for i, qid in enumerate(first)}
        other_keys = {other_key(p.question.id): p.question.id for p in parsed if p.question.other}
        for p in parsed:
            owner = other_keys.get(p.question.id)
            if owner is not None:
                self.problem(
                    f"id '{p.question.id}' is taken by the 'Other' text of question '{owner}'",
                    p.line,
                    p.question.id,
                )
        self.profile_check(parsed)
        for p in parsed:
            line = p.lines.get("choices", p.line)
            for message in exclusive_problems(p.question):
                self.problem(message, line, p.question.id)
        answered_before: str | None = None
        for p in parsed:
            q = p.question
            if q.type == "consent" and answered_before is not None:
                self.problem(
                    "consent must come before the questions it covers "
                    f"(it follows '{answered_before}')",
                    p.line,
                    q.id,
                )
            if q.answerable and answered_before is None:
                answered_before = q.id
        for p in parsed:
            for key, condition in (
                ("relevant", p.question.relevant),
                ("constraint", p.question.constraint),
                ("calculation", p.question.calculation),
                ("choice_filter", p.question.choice_filter),
            ):
                if condition is not None:
                    self.references(p, key, condition.expr, position, first, other_keys)

    def references(
        self,
        p: _Parsed,
        key: str,
        expr: Expr,
        position: dict[str, int],
        first: dict[str, _Parsed],
        other_keys: dict[str, str],
    ) -> None:
        """Each ${id} must name an earlier question; compared values must be its choices."""
        q = p.question
        line = p.lines.get(key)
        here = position.get(q.id, len(position))
        for name in sorted(references(expr)):
            target = other_keys.get(name, name)
            if name == q.id:
                fix = (
                    "use . for its own answer"
                    if key == "constraint"
                    else "it cannot depend on itself"
                )
                self.problem(f"{key}: refers to its own question ${{{name}}}; {fix}", line, q.id)
            elif target not in position:
                self.problem(
                    f"{key}: refers to unknown question '{name}'{_suggest(name, list(position))}",
                    line,
                    q.id,
                )
            elif position[target] > here:
                self.problem(
                    f"{key}: refers to '{name}', which comes later; "
                    "a question can only depend on earlier ones",
                    line,
                    q.id,
                )
            elif name == target and first[name].question.type == "note":
                self.problem(f"{key}: refers to '{name}', a note, which has no answer", line, q.id)
        for name, value in _compared_values(expr):
            if name not in first or name == q.id:
                continue
            allowed = _values_of(first[name].question)
            if allowed is not None and value not in allowed:
                hint = _suggest(value, sorted(allowed))
                self.problem(f"{key}: '{value}' is not a value of '{name}'{hint}", line, q.id)


def exclusive_problems(question: Question) -> list[str]:
    """What is wrong with a question's exclusive choices ("None of these"), if anything."""
    alone = [c.value for c in question.choices if c.exclusive]
    if not alone:
        return []
    named = ", ".join(f"'{value}'" for value in alone)
    if question.type != "select_multiple":
        return [
            f"choice {named} is exclusive, but only the choices of a select_multiple "
            "question can be (ticking one clears the others)"
        ]
    problems = []
    if question.min is not None and question.min > 1:
        problems.append(
            f"choice {named} is exclusive, so it is picked on its own, but 'min' asks for "
            f"at least {_number(question.min)} selections"
        )
    if len(alone) == len(question.choices) and len(alone) > 1 and not question.other:
        problems.append(
            "every choice is exclusive, so only one can be picked: make it a select_one"
        )
    return problems


def _written_id(node: yaml.Node) -> str | None:
    """The `id` a question mapping gives, as written, for problems found before it is read."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == "id":
                if isinstance(value, yaml.ScalarNode) and value.tag != _NULL:
                    return str(value.value).strip() or None
                return None
    return None


def _bad_id(what: str, value: str) -> str:
    return (
        f"{what} '{value}' must start with a lowercase letter and have at most 32 lowercase "
        "letters, digits or _"
    )


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _values_of(question: Question) -> frozenset[str] | None:
    """The values an answer to `question` can take, when they are a fixed set."""
    if question.type in CHOICE_TYPES:
        values = {c.value for c in question.choices}
        if question.other:
            values.add(OTHER_VALUE)
        return frozenset(values)
    return _FIXED_VALUES.get(question.type)


def _compared_values(expr: Expr) -> Iterator[tuple[str, str]]:
    """(question id, text) for each `selected(${q}, 'v')`, `${q} = 'v'` and `${q} != 'v'`."""
    match expr:
        case Call(name="selected", args=(Ref(name=name), String(value=value))):
            yield name, value
        case Compare(op="=" | "!=", left=Ref(name=name), right=String(value=value)):
            yield name, value
        case Compare(op="=" | "!=", left=String(value=value), right=Ref(name=name)):
            yield name, value
        case _:
            pass
    match expr:
        case Call(args=args):
            children: tuple[Expr, ...] = args
        case Compare(left=left, right=right) | BoolOp(left=left, right=right):
            children = (left, right)
        case Arith(left=left, right=right):
            children = (left, right)
        case Neg(operand=operand):
            children = (operand,)
        case _:
            children = ()
    for child in children:
        yield from _compared_values(child)
