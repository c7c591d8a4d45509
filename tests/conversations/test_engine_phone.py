"""The engine as an employer meets it on a phone (issue 18): ticks that go alone, a tick
past the limit refused at once, parts that never jump, typed picks, the review, echoes."""

from __future__ import annotations

import pytest

from conversations.definition import Choice, Interview, Part, Question, Section
from conversations.engine import CONSENT_NOT_EDITABLE, Echo, InterviewEngine, Step
from conversations.events import (
    Ask,
    Choose,
    Done,
    Edit,
    Input,
    Invalid,
    Notice,
    Review,
    ReviewSummary,
    Submit,
    Text,
    Toggle,
)
from conversations.loader import builtin_interview_path, load_interview
from conversations.state import InterviewState
from tests.conversations.conftest import condition, recruitment_interview


def feed(engine: InterviewEngine, state: InterviewState, *events: Input) -> Step:
    step = Step(state, ())
    for event in events:
        step = engine.handle(step.state, event)
    return step


def last_ask(step: Step) -> Ask:
    prompt = step.prompts[-1]
    assert isinstance(prompt, Ask), step.prompts
    return prompt


def barriers_interview() -> Interview:
    """Consent, a tick-box question with an exclusive "No barriers" and at most 2 ticks,
    a second tick-box question, then a yes/no question in a part of its own."""
    first = Section(
        "start",
        "Start",
        (Question("consent", "consent", "Do you agree?", "start"),),
    )
    training = Section(
        "training",
        "Training",
        (
            Question(
                "barriers",
                "select_multiple",
                "What makes training harder?",
                "training",
                choices=(
                    Choice("cost", "Cost"),
                    Choice("time", "Staff time"),
                    Choice("travel", "Travel"),
                    Choice("none", "No barriers", exclusive=True),
                ),
                max=2,
                other=True,
            ),
            Question(
                "delivery",
                "select_multiple",
                "How would you like training delivered?",
                "training",
                choices=(Choice("workplace", "At our workplace"), Choice("online", "Online")),
            ),
        ),
    )
    notes = Section("thanks", "Thanks", (Question("thanks", "note", "Thank you.", "thanks"),))
    last = Section(
        "last",
        "Last question",
        (
            Question(
                "follow_up",
                "yes_no",
                "May we call you?",
                "last",
                relevant=condition("${consent} = 'yes'"),
            ),
        ),
    )
    return Interview("barriers", "Barriers", "1", (first, training, notes, last))


@pytest.fixture
def barriers() -> InterviewEngine:
    return InterviewEngine(barriers_interview())


def at_barriers(engine: InterviewEngine) -> Step:
    return feed(engine, engine.start().state, Choose("yes", "consent"))


# --- exclusive choices ---------------------------------------------------------------------


def test_ticking_an_exclusive_choice_clears_the_others(barriers: InterviewEngine) -> None:
    step = feed(barriers, at_barriers(barriers).state, Toggle("cost", "barriers"))
    step = feed(barriers, step.state, Toggle("none", "barriers"))
    assert last_ask(step).selected == ("none",)
    assert step.state.selected == ("none",)
    assert step.prompts[0] == Notice("“No barriers” replaces “Cost”.")


def test_ticking_another_choice_clears_the_exclusive_one(barriers: InterviewEngine) -> None:
    step = feed(
        barriers,
        at_barriers(barriers).state,
        Toggle("none", "barriers"),
        Toggle("travel", "barriers"),
    )
    assert last_ask(step).selected == ("travel",)
    assert step.prompts[0] == Notice("“Travel” replaces “No barriers”.")
    done = feed(barriers, step.state, Done("barriers"))
    assert done.state.answers["barriers"] == ["travel"]


def test_untick_and_plain_ticks_give_no_notice(barriers: InterviewEngine) -> None:
    step = feed(barriers, at_barriers(barriers).state, Toggle("cost", "barriers"))
    assert len(step.prompts) == 1
    step = feed(barriers, step.state, Toggle("cost", "barriers"))
    assert len(step.prompts) == 1
    assert last_ask(step).selected == ()


def test_typing_an_exclusive_choice_with_others_is_refused(barriers: InterviewEngine) -> None:
    step = feed(barriers, at_barriers(barriers).state, Text("cost, no barriers"))
    invalid = step.prompts[0]
    assert isinstance(invalid, Invalid)
    assert invalid.message == "“No barriers” goes on its own; please pick it or the others."
    assert "barriers" not in step.state.answers
    alone = feed(barriers, at_barriers(barriers).state, Text("no barriers"))
    assert alone.state.answers["barriers"] == ["none"]


# --- at most N ticks -------------------------------------------------------------------------


def test_a_tick_past_the_limit_is_refused_at_once(barriers: InterviewEngine) -> None:
    two = feed(
        barriers,
        at_barriers(barriers).state,
        Toggle("cost", "barriers"),
        Toggle("time", "barriers"),
    )
    third = feed(barriers, two.state, Toggle("travel", "barriers"))
    assert third.prompts[0] == Notice(
        "You can pick up to 2. Untick one first to choose another.", alert=True
    )
    assert last_ask(third).selected == ("cost", "time")
    assert third.state == two.state
    # Unticking one makes room; ticking the exclusive choice never counts past the limit.
    room = feed(barriers, two.state, Toggle("cost", "barriers"), Toggle("travel", "barriers"))
    assert last_ask(room).selected == ("time", "travel")
    alone = feed(barriers, two.state, Toggle("none", "barriers"))
    assert last_ask(alone).selected == ("none",)


def test_done_after_a_refused_tick_moves_on(barriers: InterviewEngine) -> None:
    step = feed(
        barriers,
        at_barriers(barriers).state,
        Toggle("cost", "barriers"),
        Toggle("time", "barriers"),
        Toggle("travel", "barriers"),
        Done("barriers"),
    )
    assert step.state.answers["barriers"] == ["cost", "time"]
    assert last_ask(step).question.id == "delivery"


# --- parts -------------------------------------------------------------------------------


def test_every_question_shows_its_part_with_a_fixed_total(barriers: InterviewEngine) -> None:
    start = barriers.start()
    assert last_ask(start).part == Part(1, 3, "Start")
    step = at_barriers(barriers)
    assert last_ask(step).part == Part(2, 3, "Training")
    assert last_ask(step).part is not None
    assert last_ask(step).part.text == "Part 2 of 3: Training"  # type: ignore[union-attr]
    step = feed(barriers, step.state, Text("cost"), Text("online"))
    # The section of notes only is no part of its own.
    assert last_ask(step).part == Part(3, 3, "Last question")
    assert barriers.part(step.state) == Part(3, 3, "Last question")


def test_the_part_total_does_not_move_as_answers_open_questions() -> None:
    engine = InterviewEngine(recruitment_interview())
    step = feed(
        engine,
        engine.start().state,
        Choose("yes", "consent"),
        Text("Acme"),
        Choose("manufacturing", "sector"),
        Text("20"),
    )
    before = last_ask(step)
    opened = feed(engine, step.state, Choose("yes", "vacancies"))
    after = last_ask(opened)
    assert after.total > before.total  # more questions now apply...
    assert before.part == after.part == Part(2, 3, "Recruitment")  # ...but not more parts
    assert engine.part(feed(engine, opened.state, Review()).state) == after.part


def test_the_builtin_interview_has_seven_parts() -> None:
    interview = load_interview(builtin_interview_path())
    titles = sorted({(p.number, p.total, p.title) for p in interview.parts.values()})
    assert titles == [
        (1, 7, "Privacy and consent"),
        (2, 7, "Your organisation"),
        (3, 7, "Recruitment"),
        (4, 7, "Skills of your current staff"),
        (5, 7, "Looking ahead"),
        (6, 7, "Training"),
        (7, 7, "Last questions"),
    ]


# --- instructions ------------------------------------------------------------------------


def test_ticking_is_explained_once_then_briefly(barriers: InterviewEngine) -> None:
    step = at_barriers(barriers)
    assert last_ask(step).instruction == "Tick up to 2, then tap Done."
    step = feed(barriers, step.state, Text("cost"))
    assert last_ask(step).instruction == "Tick all that apply."
    consent = barriers.start()
    assert last_ask(consent).instruction == ""


def test_typed_questions_say_what_to_type() -> None:
    engine = InterviewEngine(recruitment_interview())
    step = feed(engine, engine.start().state, Choose("yes", "consent"))
    assert last_ask(step).instruction == "Please type your answer (up to 100 characters)."
    step = feed(engine, step.state, Text("Acme"), Choose("manufacturing", "sector"))
    assert last_ask(step).instruction == "Please type a whole number from 1 to 100000."


# --- review ------------------------------------------------------------------------------


def reviewed(engine: InterviewEngine) -> Step:
    return feed(
        engine,
        at_barriers(engine).state,
        Text("cost; time"),
        Text("online"),
        Choose("yes", "follow_up"),
    )


def test_the_review_lists_short_labels_and_answer_labels(barriers: InterviewEngine) -> None:
    step = reviewed(barriers)
    review = step.prompts[-1]
    assert isinstance(review, ReviewSummary)
    assert [(i.question_id, i.short_label, i.answers, i.editable) for i in review.items] == [
        ("consent", "Do you agree?", ("Yes",), False),
        ("barriers", "What makes training harder?", ("Cost", "Staff time"), True),
        ("delivery", "How would you like training delivered?", ("Online",), True),
        ("follow_up", "May we call you?", ("Yes",), True),
    ]
    assert [i.question_id for i in review.editable] == ["barriers", "delivery", "follow_up"]
    assert barriers.review(step.state) == review
    assert review.pages(size=3) == 2
    assert [i.question_id for i in review.page(2, size=3)] == ["follow_up"]
    assert review.page(3, size=3) == ()


def test_consent_cannot_be_edited_from_the_review(barriers: InterviewEngine) -> None:
    step = reviewed(barriers)
    refused = feed(barriers, step.state, Edit("consent"))
    invalid = refused.prompts[0]
    assert isinstance(invalid, Invalid)
    assert invalid.message == CONSENT_NOT_EDITABLE
    assert refused.state.status == "review"
    assert refused.state.current is None
    middle = feed(barriers, at_barriers(barriers).state, Edit("consent"))
    assert isinstance(middle.prompts[0], Invalid)
    assert middle.state.current == "barriers"


def test_an_edit_names_the_question_not_a_place(barriers: InterviewEngine) -> None:
    step = feed(barriers, reviewed(barriers).state, Edit("delivery"))
    assert last_ask(step).question.id == "delivery"
    back = feed(barriers, step.state, Toggle("workplace", "delivery"), Done("delivery"))
    review = back.prompts[-1]
    assert isinstance(review, ReviewSummary)
    assert [i.question_id for i in review.items][2] == "delivery"


def test_the_review_of_a_submitted_interview_is_marked_and_not_editable(
    barriers: InterviewEngine,
) -> None:
    done = feed(barriers, reviewed(barriers).state, Submit())
    review = feed(barriers, done.state, Review()).prompts[-1]
    assert isinstance(review, ReviewSummary)
    assert review.submitted
    assert review.items
    assert not review.editable
    assert barriers.review(done.state) == review
    before = barriers.review(reviewed(barriers).state)
    assert not before.submitted


def test_the_builtin_interview_names_every_question_shortly() -> None:
    interview = load_interview(builtin_interview_path())
    for question in interview.questions:
        if question.answerable:
            assert question.short_label, question.id
            assert len(question.short_label) <= 40, question.id


# --- echo --------------------------------------------------------------------------------


def test_consent_refused_is_echoed_as_no(barriers: InterviewEngine) -> None:
    step = barriers.handle(barriers.start().state, Choose("no", "consent"))
    assert step.echo == Echo("consent", "No")
    typed = barriers.handle(barriers.start().state, Text("no"))
    assert typed.echo == Echo("consent", "No")


def test_an_answer_is_echoed_as_its_labels(barriers: InterviewEngine) -> None:
    step = feed(barriers, at_barriers(barriers).state, Toggle("cost", "barriers"))
    assert step.echo is None  # a tick answers nothing yet
    done = barriers.handle(step.state, Done("barriers"))
    assert done.echo == Echo("barriers", "Cost")
    refused = barriers.handle(at_barriers(barriers).state, Text("bananas"))
    assert refused.echo is None
