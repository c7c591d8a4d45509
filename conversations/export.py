"""Write any interview back out: as the sheets of an XLSForm, or as YAML text.

Both are pure (the caller writes the file; `bot.cli.interview` makes the workbook).
Loading what these write gives the same `Interview` again, so exporting, loading back and
exporting again gives the same file. What XLSForm has no column for is kept in skillsbot's
own columns (see `conversations.xlsform`).
"""

from __future__ import annotations

from typing import Any

import yaml

from conversations.definition import CHOICE_TYPES, Choice, Interview, Question
from conversations.engine import CONSENT_OPTIONS, YES_NO_OPTIONS
from conversations.xlsform import EXCLUSIVE_COLUMN, GROUP_COLUMN, SURVEY_COLUMNS

__all__ = ["ExportError", "to_xlsform_sheets", "to_yaml"]

Sheet = list[list[str]]

_SURVEY_COLUMNS = SURVEY_COLUMNS
_TRANSLATED = ("label", "hint", "required_message", "constraint_message")
_FIXED_CHOICES = {"consent": CONSENT_OPTIONS, "yes_no": YES_NO_OPTIONS}


class ExportError(ValueError):
    """An interview that this format cannot hold."""


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def to_xlsform_sheets(interview: Interview) -> dict[str, Sheet]:
    """The `survey`, `choices` and `settings` sheets, each a header row and its rows."""
    languages: tuple[str | None, ...] = interview.languages or (None,)
    worded = {lang: interview.in_language(lang) for lang in languages}

    def heading(column: str) -> list[str]:
        if column in _TRANSLATED and languages != (None,):
            return [f"{column}::{lang}" for lang in languages]
        return [column]

    header = [h for column in _SURVEY_COLUMNS for h in heading(column)]
    survey: Sheet = [header]
    choice_columns = sorted(
        {name for q in interview.questions for c in q.choices for name, _ in c.columns}
    )
    own_columns = [
        column
        for column, used in (
            (EXCLUSIVE_COLUMN, any(c.exclusive for q in interview.questions for c in q.choices)),
            (GROUP_COLUMN, any(c.group for q in interview.questions for c in q.choices)),
        )
        if used
    ]
    labels = ["label"] if languages == (None,) else [f"label::{lang}" for lang in languages]
    choices: Sheet = [["list_name", "name", *labels, *choice_columns, *own_columns]]

    def words(qid: str, field: str) -> list[str]:
        return [getattr(worded[lang].question(qid), field) or "" for lang in languages]

    for index, section in enumerate(interview.sections):
        titles = [worded[lang].sections[index].title for lang in languages]
        begin = {"type": "begin_group", "name": section.id}
        survey.append(_row(header, begin, {"label": titles}, languages))
        for question in section.questions:
            cells = _cells(question)
            translated = {field: words(question.id, field) for field in _TRANSLATED}
            survey.append(_row(header, cells, translated, languages))
            for position, choice in enumerate(_choices_of(question)):
                choice_labels = [
                    _choices_of(worded[lang].question(question.id))[position].label
                    for lang in languages
                ]
                columns = dict(choice.columns)
                columns[EXCLUSIVE_COLUMN] = "yes" if choice.exclusive else ""
                columns[GROUP_COLUMN] = choice.group or ""
                choices.append(
                    [
                        question.id,
                        choice.value,
                        *choice_labels,
                        *(columns.get(c, "") for c in (*choice_columns, *own_columns)),
                    ]
                )
        survey.append(_row(header, {"type": "end_group"}, {}, languages))
    settings_header = ["form_id", "version", "form_title"]
    settings_row = [interview.id, interview.version, interview.title]
    if interview.languages:
        settings_header.append("default_language")
        settings_row.append(interview.languages[0])
    if interview.description:
        settings_header.append("skillsbot_description")
        settings_row.append(interview.description)
    return {"survey": survey, "choices": choices, "settings": [settings_header, settings_row]}


def _choices_of(question: Question) -> tuple[Choice, ...]:
    return _FIXED_CHOICES.get(question.type, question.choices)


def _row(
    header: list[str],
    cells: dict[str, str],
    words: dict[str, list[str]],
    languages: tuple[str | None, ...],
) -> list[str]:
    """One survey row: its cells, and its words in each language's column."""
    values = dict(cells)
    for field, texts in words.items():
        for lang, text in zip(languages, texts, strict=True):
            values[field if lang is None else f"{field}::{lang}"] = text
    return [values.get(column, "") for column in header]


def _cells(question: Question) -> dict[str, str]:
    """A question's columns other than its words."""
    kind = question.type
    cells: dict[str, str] = {"name": question.id}
    if kind in CHOICE_TYPES or kind in _FIXED_CHOICES:
        base = "select_multiple" if kind == "select_multiple" else "select_one"
        cells["type"] = f"{base} {question.id}" + (" or_other" if question.other else "")
        if kind in _FIXED_CHOICES:
            cells["skillsbot_type"] = kind
    elif kind == "scale":
        cells["type"] = "range"
        cells["parameters"] = f"start={_number(question.min)} end={_number(question.max)} step=1"
        cells["skillsbot_min_label"] = question.min_label or ""
        cells["skillsbot_max_label"] = question.max_label or ""
    else:
        cells["type"] = kind
    if kind != "scale":
        cells["skillsbot_min"] = _number(question.min)
        cells["skillsbot_max"] = _number(question.max)
    if question.answerable:
        cells["required"] = "yes" if question.required else "no"
    for field, condition in (
        ("relevant", question.relevant),
        ("constraint", question.constraint),
        ("choice_filter", question.choice_filter),
        ("calculation", question.calculation),
    ):
        if condition is not None:
            cells[field] = condition.source
    if question.default is not None:
        cells["default"] = question.default
    if question.short_label is not None:
        cells["skillsbot_short_label"] = question.short_label
    if question.profile is not None:
        cells["skillsbot_profile"] = question.profile
    return cells


# --- YAML ------------------------------------------------------------------------------


def to_yaml(interview: Interview) -> str:
    """The interview as a YAML definition that `conversations.loader` reads back the same."""
    if len(interview.languages) > 1:
        raise ExportError(
            "a YAML interview has one language and this one has "
            f"{len(interview.languages)} ({', '.join(interview.languages)}); export it as xlsx"
        )
    document: dict[str, Any] = {
        "id": interview.id,
        "title": interview.title,
        "version": interview.version,
    }
    if interview.description:
        document["description"] = interview.description
    document["sections"] = [
        {
            "id": section.id,
            "title": section.title,
            "questions": [_question_yaml(q) for q in section.questions],
        }
        for section in interview.sections
    ]
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


def _question_yaml(question: Question) -> dict[str, Any]:
    item: dict[str, Any] = {"id": question.id, "type": question.type}
    if question.type != "calculate":
        item["label"] = question.label
    optional: list[tuple[str, Any]] = [
        ("short_label", question.short_label),
        ("profile", question.profile),
        ("hint", question.hint),
        ("relevant", question.relevant and question.relevant.source),
        ("calculation", question.calculation and question.calculation.source),
    ]
    if question.answerable and question.type != "consent":
        optional += [
            ("required", None if question.required else False),
            ("required_message", question.required_message),
            ("constraint", question.constraint and question.constraint.source),
            ("constraint_message", question.constraint_message),
            ("default", question.default),
        ]
    if question.type in CHOICE_TYPES:
        optional += [
            ("other", True if question.other else None),
            ("choice_filter", question.choice_filter and question.choice_filter.source),
            ("choices", [_choice_yaml(c) for c in question.choices]),
        ]
    if question.type in ("text", "integer", "decimal", "select_multiple", "scale"):
        optional += [("min", _plain(question.min)), ("max", _plain(question.max))]
    if question.type == "scale":
        optional += [("min_label", question.min_label), ("max_label", question.max_label)]
    item.update((key, value) for key, value in optional if value is not None)
    return item


def _choice_yaml(choice: Choice) -> dict[str, Any]:
    item: dict[str, Any] = {"value": choice.value, "label": choice.label}
    if choice.columns:
        item["columns"] = dict(choice.columns)
    if choice.exclusive:
        item["exclusive"] = True
    if choice.group is not None:
        item["group"] = choice.group
    return item


def _plain(value: float | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value
