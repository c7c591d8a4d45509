"""The interview engine's state: one frozen value the engine takes and returns, and storage
keeps as JSON (`InterviewState.to_json` / `InterviewState.from_json`).

Only `conversations` knows what the state holds. The JSON form is the one stored in the
`response.state` column since the first release (no migration ever changed it):

    {"interview_id": "lsip_employer", "version": "2", "status": "in_progress",
     "answers": {"consent": "yes", "staff": 14}, "current": "sector",
     "selected": null, "follow_up": false, "language": "Cymraeg"}

`language` is there only once a wording was chosen. `from_json` reads every shape stored
so far and never raises: a missing key takes its default (no status: in progress, as
storage has always read it), a key it does not know is kept as it was and written back, and
a known key holding a value of the wrong kind makes the state `UNREADABLE`, a status the
engine refuses (`InterviewStateError`), so the person starts again rather than being stuck.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal

__all__ = ["UNREADABLE", "InterviewState", "Status"]

Status = Literal["in_progress", "review", "completed", "declined"]
# The status of a stored state that could not be read (a hand edit, say): no `Status`.
UNREADABLE: Final = "unreadable"

_KEYS: Final = frozenset(
    {
        "interview_id",
        "version",
        "status",
        "answers",
        "current",
        "selected",
        "follow_up",
        "language",
    }
)


@dataclass(frozen=True, slots=True)
class InterviewState:
    """Where one person's interview stands.

    - `interview_id`, `version`: the interview definition the state belongs to.
    - `status`: one of `Status` ("in_progress", "review", "completed", "declined") for every
      state the engine makes; `UNREADABLE` or an unknown word for one it refuses.
    - `answers`: question id -> value, as the engine keeps them (JSON values; a
      select_multiple answer is a list). Read-only: the engine builds a new mapping.
    - `current`: the question being asked, or None on the review screen and after the end
      (with status "review", the question being changed from the review).
    - `selected`: the options ticked so far on a select_multiple question, or None.
    - `follow_up`: True while waiting for the text after an "Other" choice.
    - `language`: the wording the person chose, when the interview has more than one (the
      engine keeps it but does not read it; a restart drops it).
    - `extra`: keys of a stored state this version does not know, kept so that writing
      the state back loses nothing.
    """

    interview_id: str
    version: str
    status: str = "in_progress"
    answers: Mapping[str, Any] = field(default_factory=dict, repr=False)  # never in a log
    current: str | None = None
    selected: tuple[str, ...] | None = None
    follow_up: bool = False
    language: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def new(cls, interview_id: str, version: str) -> InterviewState:
        """A state with nothing answered yet, before the engine's first question."""
        return cls(interview_id, version)

    @classmethod
    def declined(cls, interview_id: str, version: str) -> InterviewState:
        """The state of an interview the person declined to take part in, as stored: no
        answers, nothing being asked (the engine answers every input to it with its
        "declined" message)."""
        return cls(interview_id, version, "declined")

    @property
    def asking(self) -> bool:
        """Whether a question is on screen (`current`): during the interview, or an answer
        being changed from the review."""
        return self.current is not None and self.status in ("in_progress", "review")

    @property
    def reviewing(self) -> bool:
        """Whether the review screen is shown: every answer given, none being changed."""
        return self.current is None and self.status == "review"

    @property
    def editing(self) -> bool:
        """Whether an answer is being changed from the review screen (`current`)."""
        return self.current is not None and self.status == "review"

    @property
    def finished(self) -> bool:
        """Whether the interview ended: submitted ("completed") or declined."""
        return self.status in ("completed", "declined")

    def to_json(self) -> dict[str, Any]:
        """The state as JSON-safe data (a new dict; answer values are shared, not copied)."""
        data: dict[str, Any] = {
            "interview_id": self.interview_id,
            "version": self.version,
            "status": self.status,
            "answers": dict(self.answers),
            "current": self.current,
            "selected": list(self.selected) if self.selected is not None else None,
            "follow_up": self.follow_up,
        }
        if self.language is not None:
            data["language"] = self.language
        for key, value in self.extra.items():
            data.setdefault(key, value)
        return data

    @classmethod
    def from_json(cls, data: object) -> InterviewState:
        """A state read from its JSON form, of any shape stored so far; never raises (see
        the module's docstring for what a missing, unknown or unreadable key gives)."""
        if type(data) is not dict and not isinstance(data, Mapping):  # dict: fast, usual
            return cls("", "", UNREADABLE)
        get = data.get
        readable = True
        interview_id, version = get("interview_id", ""), get("version", "")
        if not (isinstance(interview_id, str) and isinstance(version, str)):
            interview_id, version, readable = "", "", False
        status = get("status", "in_progress")
        if not isinstance(status, str):
            readable = False
        answers = get("answers")
        if answers is None:
            answers = {}
        elif type(answers) is dict or isinstance(answers, Mapping):
            answers = dict(answers)
        else:
            answers, readable = {}, False
        current = get("current")
        if current is not None and not isinstance(current, str):
            current, readable = None, False
        selected = get("selected")
        if selected is not None:
            if isinstance(selected, list) and all(isinstance(item, str) for item in selected):
                selected = tuple(selected)
            else:
                selected, readable = None, False
        language = get("language")
        extra = (
            {}
            if _KEYS.issuperset(data)
            else {key: value for key, value in data.items() if key not in _KEYS}
        )
        return cls(
            interview_id,
            version,
            status if readable else UNREADABLE,
            answers,
            current,
            selected,
            bool(get("follow_up")),
            language if isinstance(language, str) else None,
            extra,
        )

    def without_answers(self, question_ids: Collection[str]) -> InterviewState:
        """The state with these questions' answers taken out and the rest as it was: how a
        response keeps its anonymous answers once those identifying the employer are
        deleted (`storage.forget_expired_identifiers`). The engine asks a removed answer
        again if the interview goes on."""
        kept = {qid: value for qid, value in self.answers.items() if qid not in question_ids}
        return replace(self, answers=kept)
