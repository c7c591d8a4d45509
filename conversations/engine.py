"""The interview engine: a pure state machine that turns inputs into prompts.

Rules of this module (in the spirit of h11's `_state.py`):
- Everything that decides what an interview does next lives here; transports (Telegram,
  the terminal, the playground) only turn what people do into inputs and render prompts.
- The state is a frozen `InterviewState` (`conversations.state`, which also gives its
  JSON form for storage); `handle` returns a new one, or the same one when nothing
  changed. No clock, no I/O, no imports outside the stdlib and `conversations`.
- Which handler runs is a table lookup on (mode, input type); see `_TRANSITIONS`.
- A person's mistake never raises: it gives an `Invalid` or `Stale` prompt and the same
  state. A state that cannot exist raises `InterviewStateError`, naming state and input.

The state's fields are described on `InterviewState`: the interview and version, the
status ("in_progress" | "review" | "completed" | "declined"), the answers, the question
being asked (None on the review screen and after the end), the ticks so far on a
select_multiple question, whether the text after an "Other" choice is awaited, and the
wording chosen (kept, never read; a restart drops it).

Back needs no history: questions are asked in order and every relevant one is visited
(answered or skipped), so the previous question is the previous relevant one.

On a select_multiple question a Toggle gives `(Ask,)`, or `(Notice, Ask)` when the tick
cleared others (an exclusive option) or was refused (past the question's `max`; the state
is then unchanged). A step that answered the current question carries `Step.echo`, the
answer as the question's message may show it. Consent cannot be edited from the review
(withdrawing it is erasure, which the transport offers).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from conversations.definition import (
    OTHER_LABEL,
    OTHER_VALUE,
    Choice,
    Interview,
    Part,
    Question,
    other_key,
)
from conversations.events import (
    Ask,
    Back,
    Choose,
    Completed,
    Declined,
    Done,
    Edit,
    Input,
    Invalid,
    Note,
    Notice,
    Prompt,
    Restart,
    Resume,
    Review,
    ReviewItem,
    ReviewSummary,
    Skip,
    Stale,
    Submit,
    Text,
    Toggle,
)
from conversations.expressions import (
    CHOICE_LABELS_KEY,
    TODAY_KEY,
    Call,
    Expr,
    evaluate,
    references,
    truthy,
    walk,
)
from conversations.picks import PICK_ONE_HELP, PICK_SEVERAL_HELP, read_pick, read_picks
from conversations.state import InterviewState, Status
from conversations.text import typed_text

__all__ = [
    "DefinitionChanged",
    "Echo",
    "InterviewEngine",
    "InterviewStateError",
    "Step",
    "choice_options",
    "display_value",
    "parse_date",
]

DEFAULT_TEXT_MAX: Final = 2000
SKIPPED: Final = "(skipped)"
CONSENT_OPTIONS: Final = (Choice("yes", "Yes, I agree"), Choice("no", "No"))
YES_NO_OPTIONS: Final = (Choice("yes", "Yes"), Choice("no", "No"))
# XLSForm's acknowledge stores "OK" when the person confirms.
ACKNOWLEDGE_OPTIONS: Final = (Choice("OK", "OK"),)
REQUIRED_MESSAGE: Final = "This question needs an answer."

DECLINED_MESSAGE: Final = (
    "Thank you. You chose not to take part, so we have not kept any of your answers. "
    "If you change your mind, you can start again at any time."
)
CONSENT_NOT_EDITABLE: Final = (
    "Your consent can't be changed here. To withdraw it and erase your answers, send /forget."
)
OTHER_TEXT_INSTRUCTION: Final = 'Please type your answer for "Other".'
STALE_BUTTON: Final = (
    "That button belongs to an earlier question, so I left your answers as they were. "
    "Here is the current question."
)
STALE_ON_REVIEW: Final = (
    "That button belongs to an earlier question, so I left your answers as they were. "
    "Here is the review of your answers."
)
FINISHED: Final[Mapping[str, str]] = {
    "completed": "This interview is finished and your answers were submitted, so nothing "
    "was changed. Thank you for taking part!",
    "declined": "This interview has ended because you chose not to take part, so nothing "
    "was recorded.",
}


class DefinitionChanged(Exception):
    """The state was made by another interview, or another version of this one."""

    def __init__(self, state_id: Any, state_version: Any, interview: Interview) -> None:
        super().__init__(
            f"state belongs to interview {state_id!r} version {state_version!r}, "
            f"not {interview.id!r} version {interview.version!r}"
        )
        self.state_id = state_id
        self.state_version = state_version


class InterviewStateError(Exception):
    """A state the engine never makes (a bug or a hand-edited state), met with an input."""

    def __init__(self, problem: str, state: InterviewState, event: Input | None) -> None:
        super().__init__(
            f"{problem} (status {state.status!r}, current question {state.current!r}, "
            f"input {event!r})"
        )


@dataclass(frozen=True, slots=True)
class Echo:
    """The answer just given, as the question's message may show it once answered
    ("→ Manufacturing"); consent refused is "No", a skipped question "(skipped)"."""

    question_id: str
    text: str


@dataclass(frozen=True, slots=True)
class Step:
    """The engine's answer to one input: the new state and the prompts to show, in order.

    `echo` is set when the input answered (or skipped) the question being asked.
    """

    state: InterviewState
    prompts: tuple[Prompt, ...]
    echo: Echo | None = None


# --- Reading answers ----------------------------------------------------------------------

_MONTHS: Final[Mapping[str, int]] = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})\Z")
_UK_DATE = re.compile(r"([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4}|[0-9]{2})\Z")
_WORDY_DATE = re.compile(r"([0-9]{1,2})(?:st|nd|rd|th)?\s+([a-z]+)\.?,?\s+([0-9]{4})\Z")
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+\Z|[+-]?[0-9]{1,18}\Z")
_NUMBER = re.compile(
    r"[+-]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]{1,18})(?:\.[0-9]{0,12})?\Z|[+-]?\.[0-9]{1,12}\Z"
)


def parse_date(text: str) -> date | None:
    """A date typed UK style (`1/3/2026`, `01/03/2026`, `1 March 2026`) or ISO, else None."""
    text = text.strip().lower()
    day = month = year = 0
    if match := _ISO_DATE.match(text):
        year, month, day = (int(part) for part in match.groups())
    elif match := _UK_DATE.match(text):
        day, month, year = (int(part) for part in match.groups())
        if len(match.group(3)) == 2:
            year += 2000
    elif match := _WORDY_DATE.match(text):
        month = _MONTHS.get(match.group(2), 0)
        day, year = int(match.group(1)), int(match.group(3))
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _number_text(value: float) -> str:
    """100000.0 -> "100000", 2.5 -> "2.5"."""
    return str(int(value)) if float(value).is_integer() else str(value)


def _plural(count: float, noun: str) -> str:
    return f"{_number_text(count)} {noun}{'' if count == 1 else 's'}"


def choice_options(question: Question) -> tuple[Choice, ...]:
    """The options a choice question offers, "Other (please specify)" included."""
    if question.type == "consent":
        return CONSENT_OPTIONS
    if question.type == "yes_no":
        return YES_NO_OPTIONS
    if question.type == "acknowledge":
        return ACKNOWLEDGE_OPTIONS
    if question.type == "scale":
        low = int(question.min if question.min is not None else 1)
        high = int(question.max if question.max is not None else 5)
        options = []
        for point in range(low, high + 1):
            end = {low: question.min_label, high: question.max_label}.get(point)
            options.append(Choice(str(point), f"{point} – {end}" if end else str(point)))
        return tuple(options)
    if question.other:
        return (*question.choices, Choice(OTHER_VALUE, OTHER_LABEL))
    return question.choices


def display_value(question: Question, value: Any, answers: Mapping[str, Any] | None = None) -> str:
    """An answer as people read it: choice labels, Yes/No, 1 March 2026, lists joined by "; "."""
    return _display(question, value, answers, _labels(question))


def _labels(question: Question) -> Mapping[str, str]:
    """Choice value -> label as shown in reviews (consent shows plain Yes/No)."""
    if question.type == "consent":
        return {"yes": "Yes", "no": "No"}
    return {choice.value: choice.label for choice in choice_options(question)}


def _display(
    question: Question, value: Any, answers: Mapping[str, Any] | None, labels: Mapping[str, str]
) -> str:
    if value is None:
        return SKIPPED
    kind = question.type
    if kind in _CHOOSE_TYPES or kind == "select_multiple":
        return "; ".join(_answer_labels(question, value, answers, labels))
    if kind == "date" and isinstance(value, str):
        parsed = parse_date(value)
        if parsed is not None:
            return f"{parsed.day} {parsed:%B %Y}"
    if kind == "decimal" and isinstance(value, float) and math.isfinite(value):
        return _number_text(value)
    return str(value)


def _answer_labels(
    question: Question, value: Any, answers: Mapping[str, Any] | None, labels: Mapping[str, str]
) -> tuple[str, ...]:
    """An answer as its labels, one per option picked (an answer typed: itself)."""
    if value is None:
        return ()
    if question.type not in _CHOOSE_TYPES and question.type != "select_multiple":
        return (_display(question, value, answers, labels),)
    shown = []
    for item in value if isinstance(value, list) else [value]:
        if item == OTHER_VALUE and question.other:
            text = (answers or {}).get(other_key(question.id))
            shown.append(f"Other: {text}" if text else "Other")
        else:
            shown.append(labels.get(str(item), str(item)))
    return tuple(shown)


def _tick_instruction(question: Question, *, first: bool) -> str:
    """ "Tick all that apply, then tap Done." on the first tick-box question; later ones
    say only what is new ("Tick up to 3.")."""
    if question.max is not None:
        what = f"Tick up to {_number_text(question.max)}"
    elif question.min is not None and question.min > 1:
        what = f"Tick at least {_number_text(question.min)}"
    else:
        what = "Tick all that apply"
    return f"{what}, then tap Done." if first else f"{what}."


def _typing_instruction(question: Question) -> str:
    """What to type for a question answered by typing ("" for one answered by buttons)."""
    kind = question.type
    if kind == "text":
        if question.max is not None:
            return f"Please type your answer (up to {_number_text(question.max)} characters)."
        return "Please type your answer."
    if kind == "integer":
        return f"Please type {_range_words(question, 'a whole number')}."
    if kind == "decimal":
        return f"Please type {_range_words(question, 'a number')}."
    if kind == "date":
        return "Please type a date, for example 31/03/2026."
    return ""


# --- The engine ---------------------------------------------------------------------------


_RELEVANCE_CACHE_SIZE: Final = 4096


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


class _Relevance:
    """Which questions are relevant, and the running count of relevant answerable ones."""

    __slots__ = ("counts", "flags", "total")

    def __init__(self, flags: tuple[bool, ...], answerable: tuple[bool, ...]) -> None:
        self.flags = flags
        counts = []
        count = 0
        for relevant, can_answer in zip(flags, answerable, strict=True):
            count += relevant and can_answer
            counts.append(count)
        self.counts = tuple(counts)  # counts[i]: relevant answerable questions up to i
        self.total = count

    def __getitem__(self, index: int) -> bool:
        return self.flags[index]


@dataclass(slots=True)
class _Turn:
    """The state being handled, read once and checked; handlers build new states from it."""

    state: InterviewState
    answers: Mapping[str, Any]  # the state's own: handlers change a copy
    current: str | None
    selected: tuple[str, ...] | None
    follow_up: bool
    mode: str


class InterviewEngine:
    """Runs one interview definition: `start()` a new state, then `handle(state, input)`."""

    def __init__(self, interview: Interview, *, today: Callable[[], date] | None = None) -> None:
        """`today` gives the date today() reads (the transport's clock; none: no date)."""
        self.interview = interview
        self._today = today
        self._questions = interview.questions
        self._position = interview.position
        self._answerable = tuple(q.answerable for q in interview.questions)
        self._conditional: tuple[tuple[int, Question, Expr], ...] = tuple(
            (i, q, q.relevant.expr)
            for i, q in enumerate(interview.questions)
            if q.relevant is not None
        )
        # Relevance depends only on the answers its conditions read, so it is cached on them.
        self._referenced = tuple(
            sorted({name for _i, _q, expr in self._conditional for name in references(expr)})
        )
        self._relevance_cache: dict[tuple[Any, ...], _Relevance] = {}
        self._calculations = tuple(
            (q.id, q.calculation.expr)
            for q in interview.questions
            if q.type == "calculate" and q.calculation is not None
        )
        trees = [
            condition.expr
            for q in interview.questions
            for condition in (q.relevant, q.constraint, q.calculation, q.choice_filter)
            if condition is not None
        ]
        called = {node.name for tree in trees for node in walk(tree) if isinstance(node, Call)}
        self._uses_today = "today" in called
        self._uses_labels = "jr:choice-name" in called
        self._options = {q.id: choice_options(q) for q in interview.questions}
        self._labels = {q.id: _labels(q) for q in interview.questions}
        self._filtered = {q.id for q in interview.questions if q.choice_filter is not None}
        self._section_title = {
            q.id: section.title for section in interview.sections for q in section.questions
        }
        self._multiple = tuple(
            i for i, q in enumerate(interview.questions) if q.type == "select_multiple"
        )
        self._typing = {q.id: _typing_instruction(q) for q in interview.questions}
        self._shorts = tuple(q.short for q in interview.questions)

    # -- public API ------------------------------------------------------------------------

    def start(self) -> Step:
        """A new interview: the notes before the first question, then that question."""
        state = InterviewState.new(self.interview.id, self.interview.version)
        turn = _Turn(state, {}, None, None, follow_up=False, mode="asking")
        answers: dict[str, Any] = {}
        relevance = self._settle(answers)
        return self._forward(turn, answers, relevance, -1)

    def handle(self, state: InterviewState, event: Input) -> Step:
        """Feed one input; get the new state and the prompts."""
        turn = self._read(state, event)
        handler = _TRANSITIONS[turn.mode].get(type(event))
        if handler is None:
            raise InterviewStateError(f"no transition for {type(event).__name__}", state, event)
        step = handler(self, turn, event)
        if (
            type(event) in _ANSWERED_BY
            and turn.current is not None
            and turn.mode in ("asking", "editing")
            and not any(type(p) in _REFUSALS for p in step.prompts)
        ):
            return Step(step.state, step.prompts, self._echo(turn.current, step.state))
        return step

    def part(self, state: InterviewState) -> Part | None:
        """The part of the interview the question being asked belongs to ("Part 3 of 7:
        Recruitment"), or None on the review screen and after the end."""
        question = self.current_question(state)
        return self.interview.part(question.id) if question is not None else None

    def review(self, state: InterviewState) -> ReviewSummary:
        """The review of a state's answers as they stand, without changing anything: every
        relevant answer in interview order (the answers so far, mid-interview). For a
        transport showing the review a page at a time."""
        turn = self._read(state, None)
        relevance = self._relevance(turn.answers)
        if turn.mode == "declined":
            return ReviewSummary((), complete=True, submitted=True)
        if turn.mode == "asking":
            assert turn.current is not None
            return self._summary(turn.answers, relevance, upto=self._position[turn.current])
        return self._summary(turn.answers, relevance, upto=None, submitted=turn.mode == "completed")

    def _echo(self, qid: str, state: InterviewState) -> Echo:
        if state.status == "declined":
            return Echo(qid, "No")
        answers = state.answers
        question = self.interview.by_id[qid]
        return Echo(qid, _display(question, answers.get(qid), answers, self._labels[qid]))

    def current_question(self, state: InterviewState) -> Question | None:
        """The question being asked, or None on the review screen and after the end."""
        current = state.current
        return self.interview.by_id.get(current) if current is not None else None

    def progress(self, state: InterviewState) -> tuple[int, int]:
        """(position, total) among the questions relevant now, e.g. (7, 24)."""
        relevance = self._relevance(state.answers)
        total = relevance.total
        current = state.current
        if current is not None and current in self._position:
            return relevance.counts[self._position[current]], total
        return (total if state.status != "in_progress" else 0), total

    # -- reading and writing states --------------------------------------------------------

    def _read(self, state: InterviewState, event: Input | None) -> _Turn:
        if not state.interview_id:  # e.g. read from an empty or unreadable stored state
            raise InterviewStateError("not an interview state", state, event)
        interview_id, version = state.interview_id, state.version
        status, current = state.status, state.current
        if interview_id != self.interview.id or version != self.interview.version:
            raise DefinitionChanged(interview_id, version, self.interview)
        if current is not None and current not in self._position:
            raise InterviewStateError("the current question is not valid", state, event)
        if current is not None and not self._answerable[self._position[current]]:
            raise InterviewStateError("the current question is a note", state, event)
        if status == "in_progress":
            mode = "asking"
        elif status == "review":
            mode = "reviewing" if current is None else "editing"
        elif status in ("completed", "declined"):
            mode = status
        else:
            raise InterviewStateError("unknown status", state, event)
        if mode == "asking" and current is None:
            raise InterviewStateError("in progress without a current question", state, event)
        return _Turn(
            state=state,
            answers=state.answers,
            current=current,
            selected=state.selected,
            follow_up=state.follow_up,
            mode=mode,
        )

    def _state(
        self,
        turn: _Turn,
        answers: Mapping[str, Any],
        *,
        status: Status,
        current: str | None,
        selected: tuple[str, ...] | None = None,
        follow_up: bool = False,
    ) -> InterviewState:
        """A new state: this turn's interview, wording and unknown keys, the rest given."""
        old = turn.state
        return InterviewState(
            old.interview_id,
            old.version,
            status,
            answers,
            current,
            selected,
            follow_up,
            old.language,
            old.extra,
        )

    def _same(self, turn: _Turn, *prompts: Prompt) -> Step:
        """The state unchanged (the same value: it is frozen), with these prompts."""
        return Step(turn.state, prompts)

    # -- relevance ---------------------------------------------------------------------------

    def _context(self, answers: Mapping[str, Any]) -> Mapping[str, Any]:
        """The answers as expressions read them: with today's date and choice labels when
        the interview's expressions call today() or jr:choice-name()."""
        if not (self._uses_today or self._uses_labels):
            return answers
        context = dict(answers)
        if self._uses_today:
            context[TODAY_KEY] = self._today().isoformat() if self._today is not None else ""
        if self._uses_labels:
            context[CHOICE_LABELS_KEY] = self._labels
        return context

    def options(self, question: Question, answers: Mapping[str, Any]) -> tuple[Choice, ...]:
        """The options offered now: those the question's `choice_filter` keeps, if any."""
        options = self._options[question.id]
        if question.id not in self._filtered or question.choice_filter is None:
            return options
        expr = question.choice_filter.expr
        context = self._context(answers)
        kept = []
        for choice in options:
            row = {"name": choice.value, **dict(choice.columns)}
            if (
                choice.value == OTHER_VALUE
                and question.other
                or truthy(evaluate(expr, context, row))
            ):
                kept.append(choice)
        return tuple(kept)

    def _calculate(self, answers: dict[str, Any]) -> None:
        """Work out every calculate question again, in order, from the answers."""
        for qid, expr in self._calculations:
            value = evaluate(expr, self._context(answers))
            if isinstance(value, float) and not math.isfinite(value):
                value = ""
            if value == "" or value is None:
                answers.pop(qid, None)
            else:
                answers[qid] = value if isinstance(value, str | int | float) else str(value)

    def _relevance(self, answers: Mapping[str, Any]) -> _Relevance:
        """Which questions are relevant given these answers (cached on the answers read)."""
        key = tuple(_hashable(answers.get(name)) for name in self._referenced)
        if self._uses_today:
            key = (self._today().isoformat() if self._today is not None else "", *key)
        try:
            known = self._relevance_cache.get(key)
        except TypeError:  # an unhashable answer in a hand-made state: just work it out
            return self._work_out_relevance(answers)
        if known is None:
            if len(self._relevance_cache) >= _RELEVANCE_CACHE_SIZE:
                self._relevance_cache.clear()
            known = self._relevance_cache[key] = self._work_out_relevance(answers)
        return known

    def _work_out_relevance(self, answers: Mapping[str, Any]) -> _Relevance:
        flags = [True] * len(self._questions)
        context = self._context(answers)
        for i, _question, expr in self._conditional:
            flags[i] = truthy(evaluate(expr, context))
        return _Relevance(tuple(flags), self._answerable)

    def _settle(self, answers: dict[str, Any]) -> _Relevance:
        """Work out calculations and drop the answers of questions that are no longer
        relevant; the final relevance."""
        while True:
            if self._calculations:
                self._calculate(answers)
            flags = self._relevance(answers)
            dropped = False
            for i, question, _expr in self._conditional:
                if not flags[i]:
                    if answers.pop(question.id, None) is not None:
                        dropped = True
                    answers.pop(other_key(question.id), None)
            if not dropped:
                return flags

    def _gap(self, answers: Mapping[str, Any], relevance: _Relevance) -> tuple[str, bool] | None:
        """The first relevant question still needing an answer (or its "Other" text)."""
        for i, question in enumerate(self._questions):
            if not relevance[i] or not self._answerable[i]:
                continue
            value = answers.get(question.id)
            if value is None:
                if question.required:
                    return question.id, False
            elif (
                question.other
                and _includes_other(value)
                and not answers.get(other_key(question.id))
            ):
                return question.id, True
        return None

    # -- prompts -----------------------------------------------------------------------------

    def _ask(
        self,
        answers: Mapping[str, Any],
        relevance: _Relevance,
        qid: str,
        *,
        selected: tuple[str, ...] | None = None,
        follow_up: bool = False,
        editing: bool = False,
    ) -> Ask:
        question = self.interview.by_id[qid]
        index = self._position[qid]
        value = answers.get(qid)
        if value is None and question.default is not None and not follow_up:
            value = _default_value(question)
        chosen = _as_selection(question, value) if selected is None else selected
        position = relevance.counts[index]
        earlier = position - (1 if relevance.flags[index] else 0)
        can_back = follow_up or earlier > 0
        total = relevance.total
        return Ask(
            question=question,
            options=() if follow_up else self.options(question, answers),
            selected=chosen,
            current=answers.get(other_key(qid)) if follow_up else value,
            position=position,
            total=total,
            can_skip=not question.required and question.type != "consent",
            can_back=can_back and not editing,
            section_title=self._section_title[qid],
            follow_up=follow_up,
            part=self.interview.part(qid),
            instruction=self._instruction(question, relevance, index, follow_up=follow_up),
        )

    def _instruction(
        self, question: Question, relevance: _Relevance, index: int, *, follow_up: bool
    ) -> str:
        """How to answer, matching what the screen shows. Ticking is explained in full on
        the first tick-box question asked and briefly after that."""
        if follow_up:
            return OTHER_TEXT_INSTRUCTION
        if question.type == "select_multiple":
            first = not any(relevance[i] for i in self._multiple if i < index)
            return _tick_instruction(question, first=first)
        return self._typing[question.id]

    def _ask_turn(self, turn: _Turn) -> Ask:
        """The current question of this turn, as it stands."""
        assert turn.current is not None
        return self._ask(
            turn.answers,
            self._relevance(turn.answers),
            turn.current,
            selected=turn.selected,
            follow_up=turn.follow_up,
            editing=turn.mode == "editing",
        )

    def _summary(
        self,
        answers: Mapping[str, Any],
        relevance: _Relevance,
        *,
        upto: int | None,
        submitted: bool = False,
    ) -> ReviewSummary:
        """Every relevant answer (complete), or those before index `upto` plus any given."""
        items = []
        flags, answerable, shorts = relevance.flags, self._answerable, self._shorts
        for i, question in enumerate(self._questions):
            if not flags[i] or not answerable[i]:
                continue
            qid = question.id
            value = answers.get(qid)
            if value is None:
                if upto is not None and i >= upto:
                    continue
                shown: tuple[str, ...] = ()
                display = SKIPPED
            elif question.type in _LISTED_TYPES:
                shown = _answer_labels(question, value, answers, self._labels[qid])
                display = "; ".join(shown)
            else:
                display = _display(question, value, answers, self._labels[qid])
                shown = (display,)
            editable = not submitted and question.type != "consent"
            items.append(ReviewItem(qid, question.label, display, shorts[i], shown, editable))
        return ReviewSummary(tuple(items), complete=upto is None, submitted=submitted)

    def _invalid(self, turn: _Turn, message: str) -> Step:
        if turn.current is None:
            return self._same(
                turn,
                Invalid(message),
                self._summary(turn.answers, self._relevance(turn.answers), upto=None),
            )
        return self._same(turn, Invalid(message, turn.current), self._ask_turn(turn))

    def _finished(self, turn: _Turn, event: Input) -> Step:
        return self._same(turn, Stale(FINISHED[turn.mode]))

    # -- moving ------------------------------------------------------------------------------

    def _forward(
        self, turn: _Turn, answers: dict[str, Any], relevance: _Relevance, after: int
    ) -> Step:
        """Show the notes after question `after`, then ask the next relevant question."""
        prompts: list[Prompt] = []
        for i in range(after + 1, len(self._questions)):
            if not relevance[i]:
                continue
            question = self._questions[i]
            if not self._answerable[i]:
                if question.type == "note":
                    prompts.append(Note(question))
                continue
            state = self._state(turn, answers, status="in_progress", current=question.id)
            prompts.append(self._ask(answers, relevance, question.id))
            return Step(state, tuple(prompts))
        return self._to_review(turn, answers, relevance, prompts)

    def _to_review(
        self,
        turn: _Turn,
        answers: dict[str, Any],
        relevance: _Relevance,
        prompts: list[Prompt],
    ) -> Step:
        """The review screen, or first the next question that still needs an answer."""
        gap = self._gap(answers, relevance)
        if gap is not None:
            qid, follow_up = gap
            state = self._state(turn, answers, status="review", current=qid, follow_up=follow_up)
            prompts.append(self._ask(answers, relevance, qid, follow_up=follow_up, editing=True))
            return Step(state, tuple(prompts))
        state = self._state(turn, answers, status="review", current=None)
        prompts.append(self._summary(answers, relevance, upto=None))
        return Step(state, tuple(prompts))

    def _after_answer(self, turn: _Turn, answers: dict[str, Any], qid: str) -> Step:
        """Settle relevance after an answer change, then move on (or ask the "Other" text)."""
        relevance = self._settle(answers)
        question = self.interview.by_id[qid]
        status: Status = "in_progress" if turn.mode == "asking" else "review"
        value = answers.get(qid)
        if question.other and value is not None and _includes_other(value):
            state = self._state(turn, answers, status=status, current=qid, follow_up=True)
            ask = self._ask(answers, relevance, qid, follow_up=True, editing=turn.mode == "editing")
            return Step(state, (ask,))
        return self._move_on(turn, answers, relevance, qid)

    def _move_on(
        self, turn: _Turn, answers: dict[str, Any], relevance: _Relevance, qid: str
    ) -> Step:
        if turn.mode == "asking":
            return self._forward(turn, answers, relevance, self._position[qid])
        return self._to_review(turn, answers, relevance, [])

    # -- transitions: answering ------------------------------------------------------------

    def _on_answer(self, turn: _Turn, event: Input) -> Step:
        """Text, Choose, Toggle, Done or Skip while a question is being asked."""
        assert turn.current is not None
        button_qid = getattr(event, "question_id", None)
        if button_qid is not None and button_qid != turn.current:
            return self._same(turn, Stale(STALE_BUTTON), self._ask_turn(turn))
        question = self.interview.by_id[turn.current]
        if isinstance(event, Skip):
            return self._skip(turn, question)
        if turn.follow_up:
            if isinstance(event, Text):
                return self._other_text(turn, question, event.text)
            if isinstance(event, Choose) and question.type == "select_one":
                return self._choose(turn, question, event.value)
            return self._invalid(turn, OTHER_TEXT_INSTRUCTION)
        if isinstance(event, Text):
            return self._text(turn, question, event.text)
        if isinstance(event, Choose):
            if question.type == "select_multiple":
                return self._invalid(turn, "Please tick the options that apply, then press Done.")
            if question.type not in _CHOOSE_TYPES:
                return self._invalid(turn, "Please type your answer.")
            return self._choose(turn, question, event.value)
        if isinstance(event, Toggle):
            if question.type != "select_multiple":
                return self._invalid(turn, _wrong_input_message(question))
            return self._toggle(turn, question, event.value)
        if isinstance(event, Done):
            if question.type != "select_multiple":
                return self._invalid(turn, _wrong_input_message(question))
            ticked = turn.selected
            if ticked is None:
                ticked = _as_selection(question, turn.answers.get(question.id))
            return self._select_many(turn, question, list(ticked))
        raise InterviewStateError("not an answer", turn.state, event)

    def _skip(self, turn: _Turn, question: Question) -> Step:
        if question.required or question.type == "consent":
            return self._invalid(
                turn, question.required_message or "This question can't be skipped."
            )
        answers = dict(turn.answers)
        answers.pop(question.id, None)
        answers.pop(other_key(question.id), None)
        return self._after_answer(turn, answers, question.id)

    def _text(self, turn: _Turn, question: Question, text: str) -> Step:
        text = typed_text(text)  # no NUL or other controls; invisible-only is empty
        if not text:
            if question.required or question.type == "consent":
                return self._invalid(turn, question.required_message or REQUIRED_MESSAGE)
            return self._skip(turn, question)
        kind = question.type
        options = self.options(question, turn.answers)
        if kind == "select_multiple":
            picks, problem = read_picks(text, options)
            if picks is None:
                return self._invalid(turn, problem or PICK_SEVERAL_HELP)
            return self._select_many(turn, question, picks)
        if kind in _CHOOSE_TYPES:
            value, problem = read_pick(text, options, scale=kind == "scale")
            if value is None and kind == "scale":
                low, high = options[0].value, options[-1].value
                return self._invalid(turn, f"Please choose a number from {low} to {high}.")
            if value is None:
                return self._invalid(turn, problem or PICK_ONE_HELP)
            return self._choose(turn, question, value)
        candidate, problem = _typed_value(question, text)
        if problem is not None:
            return self._invalid(turn, problem)
        return self._accept(turn, question, candidate)

    def _choose(self, turn: _Turn, question: Question, value: str) -> Step:
        if value not in {choice.value for choice in self.options(question, turn.answers)}:
            return self._invalid(turn, "That is not one of the options; please choose again.")
        if question.type == "consent" and value == "no":
            state = self._state(turn, {}, status="declined", current=None)
            return Step(state, (Declined(DECLINED_MESSAGE),))
        candidate: Any = int(value) if question.type == "scale" else value
        return self._accept(turn, question, candidate)

    def _toggle(self, turn: _Turn, question: Question, value: str) -> Step:
        """Tick or untick one option. An exclusive option clears the others (and another
        clears it); a tick past the question's `max` is refused at once, with a notice."""
        options = self.options(question, turn.answers)
        if value not in {choice.value for choice in options}:
            return self._invalid(turn, "That is not one of the options; please choose again.")
        chosen = set(
            turn.selected
            if turn.selected is not None
            else _as_selection(question, turn.answers.get(question.id))
        )
        notices: list[Prompt] = []
        if value in chosen:
            chosen.discard(value)
        else:
            exclusive = {c.value for c in options if c.exclusive}
            cleared = chosen - {value} if value in exclusive else chosen & exclusive
            if cleared:
                notices.append(Notice(_cleared_notice(options, value, cleared)))
            chosen = (chosen - cleared) | {value}
            if question.max is not None and len(chosen) > question.max:
                refused = Notice(_too_many_notice(question.max), alert=True)
                return self._same(turn, refused, self._ask_turn(turn))
        selection = tuple(choice.value for choice in options if choice.value in chosen)
        state = self._state(
            turn,
            turn.answers,
            status="in_progress" if turn.mode == "asking" else "review",
            current=turn.current,
            selected=selection,
            follow_up=turn.follow_up,
        )
        ask = self._ask(
            turn.answers,
            self._relevance(turn.answers),
            question.id,
            selected=selection,
            editing=turn.mode == "editing",
        )
        return Step(state, (*notices, ask))

    def _select_many(self, turn: _Turn, question: Question, selection: list[str]) -> Step:
        if not selection and not question.required:
            return self._skip(turn, question)
        least = int(question.min) if question.min is not None else 1
        if len(selection) < least:
            return self._invalid(turn, f"Please choose at least {_plural(least, 'option')}.")
        if question.max is not None and len(selection) > question.max:
            return self._invalid(
                turn, f"Please choose no more than {_plural(question.max, 'option')}."
            )
        alone = [c for c in self.options(question, turn.answers) if c.exclusive]
        for choice in alone:
            if choice.value in selection and len(selection) > 1:
                return self._invalid(
                    turn, f"“{choice.label}” goes on its own; please pick it or the others."
                )
        return self._accept(turn, question, selection)

    def _accept(self, turn: _Turn, question: Question, candidate: Any) -> Step:
        """Check the question's constraint, then store the answer and move on."""
        if question.constraint is not None and not truthy(
            evaluate(question.constraint.expr, self._context(turn.answers), candidate)
        ):
            return self._invalid(
                turn, question.constraint_message or "That answer doesn't fit; please check it."
            )
        answers = dict(turn.answers)
        answers[question.id] = candidate
        if not (question.other and _includes_other(candidate)):
            answers.pop(other_key(question.id), None)
        return self._after_answer(turn, answers, question.id)

    def _other_text(self, turn: _Turn, question: Question, text: str) -> Step:
        text = typed_text(text)
        if not text:
            return self._invalid(turn, OTHER_TEXT_INSTRUCTION)
        if len(text) > DEFAULT_TEXT_MAX:
            return self._invalid(
                turn, f"Please keep your answer under {DEFAULT_TEXT_MAX} characters."
            )
        answers = dict(turn.answers)
        answers[other_key(question.id)] = text
        return self._move_on(turn, answers, self._settle(answers), question.id)

    # -- transitions: moving around --------------------------------------------------------

    def _on_back(self, turn: _Turn, event: Input) -> Step:
        """Back to the previous relevant question (or to the choice before an "Other" text)."""
        relevance = self._relevance(turn.answers)
        if turn.mode == "editing":
            return self._leave_edit(turn, relevance)
        if turn.mode == "asking":
            assert turn.current is not None
            index = self._position[turn.current]
            if turn.follow_up:
                index += 1
        else:  # the review screen: back to the last question
            index = len(self._questions)
        for i in range(index - 1, -1, -1):
            if relevance[i] and self._answerable[i]:
                qid = self._questions[i].id
                state = self._state(turn, turn.answers, status="in_progress", current=qid)
                return Step(state, (self._ask(turn.answers, relevance, qid),))
        return self._invalid(turn, "This is the first question.")

    def _leave_edit(self, turn: _Turn, relevance: _Relevance) -> Step:
        """Stop editing and show the review, unless a question still needs an answer."""
        if self._gap(turn.answers, relevance) is not None:
            return self._invalid(turn, "Please answer this question first; it is needed now.")
        state = self._state(turn, turn.answers, status="review", current=None)
        return Step(state, (self._summary(turn.answers, relevance, upto=None),))

    def _on_review(self, turn: _Turn, event: Input) -> Step:
        relevance = self._relevance(turn.answers)
        if turn.mode == "asking":
            assert turn.current is not None
            upto = self._position[turn.current]
            return self._same(
                turn, self._summary(turn.answers, relevance, upto=upto), self._ask_turn(turn)
            )
        if turn.mode == "editing":
            return self._leave_edit(turn, relevance)
        return self._same(turn, self._summary(turn.answers, relevance, upto=None))

    def _on_edit(self, turn: _Turn, event: Input) -> Step:
        assert isinstance(event, Edit)
        qid = event.question_id
        relevance = self._relevance(turn.answers)
        index = self._position.get(qid)
        if index is None or not relevance[index] or not self._answerable[index]:
            return self._invalid(turn, "There is no such answer to change.")
        if self._questions[index].type == "consent":
            return self._invalid(turn, CONSENT_NOT_EDITABLE)
        if turn.mode == "asking":
            assert turn.current is not None
            if index >= self._position[turn.current] and qid not in turn.answers:
                return self._invalid(turn, "You can answer that question when you reach it.")
            state = self._state(turn, turn.answers, status="in_progress", current=qid)
            return Step(state, (self._ask(turn.answers, relevance, qid),))
        if turn.mode == "editing" and turn.current != qid and self._gap(turn.answers, relevance):
            return self._invalid(turn, "Please answer this question first; it is needed now.")
        state = self._state(turn, turn.answers, status="review", current=qid)
        return Step(state, (self._ask(turn.answers, relevance, qid, editing=True),))

    def _on_submit(self, turn: _Turn, event: Input) -> Step:
        if turn.mode == "reviewing":
            state = self._state(turn, turn.answers, status="completed", current=None)
            return Step(state, (Completed(dict(turn.answers)),))
        if turn.mode == "editing":
            return self._invalid(turn, "Please answer this question first, then submit.")
        return self._invalid(
            turn, "Please answer the remaining questions first; you can submit at the end."
        )

    def _on_restart(self, turn: _Turn, event: Input) -> Step:
        return self.start()

    def _on_resume(self, turn: _Turn, event: Input) -> Step:
        if turn.mode == "reviewing":
            return self._same(
                turn, self._summary(turn.answers, self._relevance(turn.answers), upto=None)
            )
        return self._same(turn, self._ask_turn(turn))

    def _on_review_screen_answer(self, turn: _Turn, event: Input) -> Step:
        """An answer while the review screen is shown: stale button, or a hint what to do."""
        if getattr(event, "question_id", None) is not None:
            summary = self._summary(turn.answers, self._relevance(turn.answers), upto=None)
            return self._same(turn, Stale(STALE_ON_REVIEW), summary)
        return self._invalid(
            turn, "Please choose an answer to change, or submit your answers if they are right."
        )

    def _on_finished_review(self, turn: _Turn, event: Input) -> Step:
        if turn.mode == "declined":
            return self._same(turn, ReviewSummary((), complete=True, submitted=True))
        relevance = self._relevance(turn.answers)
        return self._same(turn, self._summary(turn.answers, relevance, upto=None, submitted=True))


_CHOOSE_TYPES: Final = frozenset({"select_one", "yes_no", "scale", "consent", "acknowledge"})
# Types whose answer is one or more options, shown as their labels.
_LISTED_TYPES: Final = _CHOOSE_TYPES | {"select_multiple"}


def _default_value(question: Question) -> Any:
    """A question's `default` as its answer would hold it (None when it cannot be one)."""
    default = question.default
    if default is None:
        return None
    if question.type == "select_multiple":
        return default.split()
    if question.type in ("integer", "scale"):
        return int(default) if re.fullmatch(r"-?[0-9]+", default) else None
    if question.type == "decimal":
        try:
            return float(default)
        except ValueError:
            return None
    return default


def _cleared_notice(options: tuple[Choice, ...], ticked: str, cleared: set[str]) -> str:
    """The pop-up after a tick cleared others: which, so nothing vanishes unexplained."""
    labels = {choice.value: choice.label for choice in options}
    if len(cleared) == 1:
        return f"“{labels[ticked]}” replaces “{labels[next(iter(cleared))]}”."
    return f"“{labels[ticked]}” goes on its own, so your other ticks were cleared."


def _too_many_notice(most: float) -> str:
    return f"You can pick up to {_number_text(most)}. Untick one first to choose another."


def _includes_other(value: Any) -> bool:
    return value == OTHER_VALUE or (isinstance(value, list) and OTHER_VALUE in value)


def _as_selection(question: Question, value: Any) -> tuple[str, ...]:
    """The option values an answer selects (for showing ticks and highlighted buttons)."""
    if value is None or question.type not in _CHOOSE_TYPES | {"select_multiple"}:
        return ()
    if isinstance(value, list):
        return tuple(str(item) for item in value)
    return (str(value),)


def _wrong_input_message(question: Question) -> str:
    if question.type in _CHOOSE_TYPES:
        return "Please choose one of the options."
    return "Please type your answer."


def _range_words(question: Question, noun: str) -> str:
    low, high = question.min, question.max
    if low is not None and high is not None:
        return f"{noun} from {_number_text(low)} to {_number_text(high)}"
    if low is not None:
        return f"{noun} of at least {_number_text(low)}"
    if high is not None:
        return f"{noun} no bigger than {_number_text(high)}"
    return noun


def _typed_value(question: Question, text: str) -> tuple[Any, str | None]:
    """A typed answer to a text, integer, decimal or date question, or what is wrong with it."""
    kind = question.type
    if kind == "integer":
        message = f"Please send {_range_words(question, 'a whole number')}."
        if not _WHOLE_NUMBER.match(text):
            return None, message
        whole = int(text.replace(",", ""))
        if (question.min is not None and whole < question.min) or (
            question.max is not None and whole > question.max
        ):
            return None, message
        return whole, None
    if kind == "decimal":
        message = f"Please send {_range_words(question, 'a number')}."
        if not _NUMBER.match(text):
            return None, message
        number = float(text.replace(",", ""))
        if (question.min is not None and number < question.min) or (
            question.max is not None and number > question.max
        ):
            return None, message
        return number, None
    if kind == "date":
        parsed = parse_date(text)
        if parsed is None:
            return None, "Please send a date, for example 31/01/2026."
        return parsed.isoformat(), None
    if kind == "text":
        longest = int(question.max) if question.max is not None else DEFAULT_TEXT_MAX
        if len(text) > longest:
            return None, f"Please keep your answer under {longest} characters."
        if question.min is not None and len(text) < question.min:
            return None, f"Please write at least {_plural(question.min, 'character')}."
        return text, None
    raise ValueError(f"question {question.id!r} of type {kind!r} takes no typed answer")


_Handler = Callable[[InterviewEngine, _Turn, Any], Step]
_ANSWERS: Final = (Text, Choose, Toggle, Done, Skip)
# The inputs that answer a question (a Toggle only ticks; Done answers), and the prompts
# saying an input was not taken.
_ANSWERED_BY: Final = (Text, Choose, Done, Skip)
_REFUSALS: Final = (Invalid, Stale)

# What each input does in each mode. "asking": a question of the interview; "editing": a
# question asked from the review screen; "reviewing": the review screen.
_MOVES: Final[Mapping[type, _Handler]] = {
    Back: InterviewEngine._on_back,
    Review: InterviewEngine._on_review,
    Edit: InterviewEngine._on_edit,
    Submit: InterviewEngine._on_submit,
    Restart: InterviewEngine._on_restart,
    Resume: InterviewEngine._on_resume,
}
_ANSWERING: Final[Mapping[type, _Handler]] = {
    **dict.fromkeys(_ANSWERS, InterviewEngine._on_answer),
    **_MOVES,
}
_FINISHED: Final[Mapping[type, _Handler]] = {
    **dict.fromkeys((*_ANSWERS, Back, Edit, Submit, Resume), InterviewEngine._finished),
    Review: InterviewEngine._on_finished_review,
    Restart: InterviewEngine._on_restart,
}
_TRANSITIONS: Final[Mapping[str, Mapping[type, _Handler]]] = {
    "asking": _ANSWERING,
    "editing": _ANSWERING,
    "reviewing": {
        **dict.fromkeys(_ANSWERS, InterviewEngine._on_review_screen_answer),
        **_MOVES,
    },
    "completed": _FINISHED,
    "declined": _FINISHED,
}
