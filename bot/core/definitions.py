"""Which interview definition a response runs on: the active one for new responses, the
one it started on for responses in progress.

Definitions an admin sent from the chat live in the database (`storage.definitions`);
without an active one, new responses use the interview the settings name
(`SKILLSBOT_INTERVIEW`, else the built-in one). Each definition is parsed once per process
and kept, with one engine per language, by (interview id, version): a version's file never
changes, so the cache never goes stale. Worker processes see an activation at once, since
a new response reads which definition is active in its own transaction.

The built-in interview's versions are not in the database: the current one ships as
`interviews/lsip_employer.yaml` and each earlier one as `interviews/earlier/
lsip_employer.v<version>.yaml`, so a response begun before the built-in interview changed
(or before `SKILLSBOT_INTERVIEW` named another file) still finishes on its own version.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from conversations.definition import Interview
from conversations.engine import InterviewEngine
from conversations.loader import (
    DefinitionError,
    builtin_interview_path,
    load_definition_bytes,
    load_interview,
)
from storage import Session
from storage.definition_models import InterviewDefinition
from storage.definitions import active_definition, definition_for

logger = logging.getLogger("skillsbot.definitions")


@dataclass(slots=True)
class Definition:
    """One interview version and its engines (one per language)."""

    interview: Interview
    today: Callable[[], date] | None = None
    _engines: dict[str | None, InterviewEngine] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return self.interview.id, self.interview.version

    def worded(self, language: str | None) -> Interview:
        """The interview in `language` (the default wording when it has no such one)."""
        return self.interview.in_language(language)

    def engine(self, language: str | None = None) -> InterviewEngine:
        """The engine asking in `language`; the states of all of them are the same."""
        if language not in self.interview.translations:
            language = None
        engine = self._engines.get(language)
        if engine is None:
            engine = InterviewEngine(self.worded(language), today=self.today)
            self._engines[language] = engine
        return engine


class Definitions:
    """The definitions this process knows, by (interview id, version)."""

    def __init__(
        self, fallback: Interview, *, area: str, today: Callable[[], date] | None = None
    ) -> None:
        self.area = area
        self.today = today
        self.fallback = Definition(fallback, today)
        self._known: dict[tuple[str, str], Definition] = {self.fallback.key: self.fallback}
        self._lock = threading.Lock()  # PostgreSQL units run on threads
        self._shipped: dict[tuple[str, str], Interview] | None = None

    def for_new(self, session: Session) -> Definition:
        """The definition a response started now uses."""
        row = active_definition(session)
        if row is None:
            return self.fallback
        return self._from_row(row) or self.fallback

    def for_response(self, session: Session, interview_id: str, version: str) -> Definition | None:
        """The definition a response started on (None: no longer known anywhere)."""
        known = self._known.get((interview_id, version))
        if known is not None:
            return known
        row = definition_for(session, interview_id=interview_id, version=version)
        if row is not None:
            return self._from_row(row)
        shipped = self._shipped_versions().get((interview_id, version))
        if shipped is None:
            return None
        with self._lock:
            return self._known.setdefault((interview_id, version), Definition(shipped, self.today))

    def _shipped_versions(self) -> dict[tuple[str, str], Interview]:
        """The built-in interview's current and earlier versions, read once when first
        needed (a response on a version this process does not run, and not uploaded)."""
        if self._shipped is None:
            current = builtin_interview_path()
            found: dict[tuple[str, str], Interview] = {}
            for path in [current, *sorted((current.parent / "earlier").glob("*.v*.yaml"))]:
                try:
                    interview = load_interview(path, area=self.area)
                except DefinitionError:  # a newer loader may refuse an old file
                    logger.error("event=definition_unusable file=%s", path.name)
                    continue
                found.setdefault((interview.id, interview.version), interview)
            self._shipped = found
        return self._shipped

    def _from_row(self, row: InterviewDefinition) -> Definition | None:
        known = self._known.get((row.interview_id, row.version))
        if known is not None:
            return known
        try:
            interview = load_definition_bytes(row.content, path=row.file_name, area=self.area)
        except DefinitionError:  # checked when it was sent; a newer loader may refuse it
            logger.error(
                "event=definition_unusable id=%s version=%s", row.interview_id, row.version
            )
            return None
        definition = Definition(interview, self.today)
        with self._lock:
            return self._known.setdefault(definition.key, definition)


_TAG = re.compile(r"\(([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)*\)\s*\Z")


def match_language(code: str | None, languages: tuple[str, ...]) -> str | None:
    """The form's language for Telegram's `language_code` ("cy", "en-GB"), if it has it.

    XLSForm names languages like "Cymraeg (cy)"; the code in brackets, or a name that is
    itself a code, is compared with the person's primary language subtag.
    """
    if not code:
        return None
    primary = re.split(r"[-_]", code.strip())[0].lower()
    for language in languages:
        found = _TAG.search(language)
        tag = found.group(1) if found else language.strip()
        if tag.lower() == primary:
            return language
    return None
