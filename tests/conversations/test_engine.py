"""The interview engine: plain synchronous tests asserting on states and prompts."""

from __future__ import annotations

import copy
import json
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conversations.definition import Interview
from conversations.engine import (
    DefinitionChanged,
    InterviewEngine,
    InterviewStateError,
    Step,
    display_value,
    parse_date,
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
    Restart,
    Resume,
    Review,
    ReviewSummary,
    Skip,
    Stale,
    Submit,
    Text,
    Toggle,
)
from conversations.loader import builtin_interview_path, load_interview
from conversations.state import InterviewState
from tests.conversations.conftest import recruitment_interview


def feed(engine: InterviewEngine, state: InterviewState, *events: Input) -> Step:
    """Handle each input in turn, checking the engine's promises after every step: the
    state given is left as it was, the new one survives storage as JSON, prompts come."""
    step = Step(state, ())
    for event in events:
        given, before = step.state, copy.deepcopy(step.state)
        step = engine.handle(given, event)
        assert given == before, event
        stored = json.loads(json.dumps(step.state.to_json()))
        assert InterviewState.from_json(stored) == step.state, event
        assert step.prompts, event
    return step


def ask(step: Step) -> Ask:
    """The last prompt, which must be a question."""
    prompt = step.prompts[-1]
    assert isinstance(prompt, Ask), step.prompts
    return prompt


def asked(step: Step) -> str:
    return ask(step).question.id


def invalid(step: Step) -> str:
    """The message of an Invalid prompt that is followed by the question again."""
    first = step.prompts[0]
    assert isinstance(first, Invalid), step.prompts
    return first.message


CONSENTED = (Choose("yes", "consent"), Text("Acme Ltd"), Choose("manufacturing", "sector"))


def at_vacancies(engine: InterviewEngine) -> Step:
    """A state whose current question is `vacancies` (staff 20)."""
    return feed(engine, engine.start().state, *CONSENTED, Text("20"))


# --- starting, consent --------------------------------------------------------------------


def test_start_shows_notes_then_consent(engine: InterviewEngine) -> None:
    step = engine.start()
    assert [type(p) for p in step.prompts] == [Note, Ask]
    assert isinstance(step.prompts[0], Note)
    assert step.prompts[0].question.id == "welcome"
    question = ask(step)
    assert question.question.id == "consent"
    assert [c.label for c in question.options] == ["Yes, I agree", "No"]
    assert (question.position, question.total) == (1, 10)
    assert not question.can_skip
    assert not question.can_back
    assert question.section_title == "About your organisation"
    assert step.state.status == "in_progress"
    assert step.state.answers == {}
    assert InterviewState.from_json(json.loads(json.dumps(step.state.to_json()))) == step.state


def test_consent_refused_declines_and_keeps_nothing(engine: InterviewEngine) -> None:
    step = feed(engine, engine.start().state, Choose("no", "consent"))
    assert step.state.status == "declined"
    assert step.state.answers == {}
    (declined,) = step.prompts
    assert isinstance(declined, Declined)
    assert "not kept" in declined.message


def test_consent_refused_after_going_back_drops_every_answer(engine: InterviewEngine) -> None:
    step = feed(engine, engine.start().state, *CONSENTED, Back(), Back(), Back())
    assert asked(step) == "consent"
    assert ask(step).current == "yes"
    step = feed(engine, step.state, Text("2"))
    assert step.state.status == "declined"
    assert step.state.answers == {}


def test_consent_by_typing(engine: InterviewEngine) -> None:
    for text in ("1", "yes, I agree", "YES"):
        step = feed(engine, engine.start().state, Text(text))
        assert asked(step) == "org_name"
    step = feed(engine, engine.start().state, Text("maybe"))
    assert invalid(step) == (
        "I couldn't match “maybe” to an option. "
        "Please tap one of the buttons, or type the option's name."
    )
    assert asked(step) == "consent"


def test_consent_cannot_be_skipped(engine: InterviewEngine) -> None:
    start = engine.start().state
    step = feed(engine, start, Skip())
    assert invalid(step) == "This question can't be skipped."
    assert step.state == start


# --- every question type ------------------------------------------------------------------


def test_text_answers_are_stripped_and_bounded(engine: InterviewEngine) -> None:
    state = feed(engine, engine.start().state, Choose("yes", "consent")).state
    step = feed(engine, state, Text("   "))
    assert invalid(step) == "This question needs an answer."
    assert step.state == state
    step = feed(engine, state, Text("x" * 101))
    assert invalid(step) == "Please keep your answer under 100 characters."
    step = feed(engine, state, Text("  Acme Ltd "))
    assert step.state.answers == {"consent": "yes", "org_name": "Acme Ltd"}
    assert asked(step) == "sector"


def test_text_without_max_allows_2000_characters() -> None:
    interview = recruitment_interview()
    engine = InterviewEngine(interview)
    step = at_vacancies(engine)
    step = feed(engine, step.state, Choose("no", "vacancies"), Choose("3", "provision"))
    step = feed(engine, step.state, Skip(), Skip(), Skip())
    assert asked(step) == "comments"
    assert invalid(feed(engine, step.state, Text("y" * 501))) == (
        "Please keep your answer under 500 characters."
    )


def test_integer_answers(engine: InterviewEngine) -> None:
    state = feed(engine, engine.start().state, *CONSENTED).state
    for bad in ("lots", "12.5", "0", "100001", "-3", "9" * 40):
        step = feed(engine, state, Text(bad))
        assert invalid(step) == "Please send a whole number from 1 to 100000.", bad
        assert step.state == state
        assert asked(step) == "staff"
    step = feed(engine, state, Text("1,200"))
    assert step.state.answers["staff"] == 1200
    assert asked(step) == "vacancies"


def test_select_one_by_button_number_label_and_value(engine: InterviewEngine) -> None:
    state = feed(engine, engine.start().state, Choose("yes", "consent"), Text("Acme")).state
    assert [c.value for c in ask(feed(engine, state, Resume())).options] == [
        "manufacturing",
        "construction",
        "other",
    ]
    for event in (
        Choose("construction", "sector"),
        Text("2"),
        Text("construction"),
        Choose("construction"),
    ):
        step = feed(engine, state, event)
        assert step.state.answers["sector"] == "construction"
        assert asked(step) == "staff"
    for bad in ("4", "0", "²", "99999999999"):
        step = feed(engine, state, Text(bad))
        assert invalid(step).endswith("Please tap one of the buttons, or type the option's name.")
    step = feed(engine, state, Choose("farming", "sector"))
    assert invalid(step) == "That is not one of the options; please choose again."


def test_other_choice_asks_for_text(engine: InterviewEngine) -> None:
    state = feed(engine, engine.start().state, Choose("yes", "consent"), Text("Acme")).state
    step = feed(engine, state, Choose("other", "sector"))
    follow = ask(step)
    assert follow.follow_up
    assert follow.question.id == "sector"
    assert follow.options == ()
    assert step.state.follow_up is True
    assert invalid(feed(engine, step.state, Text(" "))) == 'Please type your answer for "Other".'
    assert (
        invalid(feed(engine, step.state, Toggle("pay"))) == 'Please type your answer for "Other".'
    )
    step = feed(engine, step.state, Text("Agriculture"))
    assert step.state.answers["sector"] == "other"
    assert step.state.answers["sector_other"] == "Agriculture"
    assert step.state.follow_up is False
    assert asked(step) == "staff"
    # Changing to a listed sector drops the "Other" text.
    step = feed(engine, step.state, Back(), Text("1"))
    assert "sector_other" not in step.state.answers
    assert step.state.answers["sector"] == "manufacturing"


def test_other_follow_up_back_returns_to_the_choice(engine: InterviewEngine) -> None:
    state = feed(engine, engine.start().state, Choose("yes", "consent"), Text("Acme")).state
    step = feed(engine, state, Text("3"), Back())
    assert asked(step) == "sector"
    assert not ask(step).follow_up
    assert ask(step).selected == ("other",)
    step = feed(engine, feed(engine, state, Text("3")).state, Choose("construction", "sector"))
    assert asked(step) == "staff"


def test_yes_no(engine: InterviewEngine) -> None:
    step = at_vacancies(engine)
    question = ask(step)
    assert [(c.value, c.label) for c in question.options] == [("yes", "Yes"), ("no", "No")]
    assert feed(engine, step.state, Text("No")).state.answers["vacancies"] == "no"
    assert invalid(feed(engine, step.state, Text("perhaps"))).startswith("I couldn't match")


def test_constraint_uses_the_candidate_and_other_answers(engine: InterviewEngine) -> None:
    step = feed(engine, at_vacancies(engine).state, Choose("yes", "vacancies"))
    assert asked(step) == "vacancy_count"
    bad = feed(engine, step.state, Text("21"))
    assert invalid(bad) == "You can't have more vacancies than staff."
    assert bad.state == step.state
    good = feed(engine, step.state, Text("20"))
    assert good.state.answers["vacancy_count"] == 20


def test_select_multiple_toggles_done_and_limits(engine: InterviewEngine) -> None:
    step = feed(
        engine,
        at_vacancies(engine).state,
        Choose("yes", "vacancies"),
        Text("3"),
        Choose("yes", "hard_to_fill"),
    )
    assert asked(step) == "htf_reasons"
    assert ask(step).options[-1].label == "Other (please specify)"
    assert (
        invalid(feed(engine, step.state, Done("htf_reasons"))) == "Please choose at least 1 option."
    )
    step = feed(engine, step.state, Toggle("pay", "htf_reasons"), Toggle("skills", "htf_reasons"))
    assert ask(step).selected == ("skills", "pay")
    assert step.state.selected == ("skills", "pay")
    step = feed(engine, step.state, Toggle("pay", "htf_reasons"))
    assert ask(step).selected == ("skills",)
    three = feed(engine, step.state, Toggle("pay"), Toggle("location"))
    too_many = feed(engine, three.state, Toggle("few"))
    assert too_many.prompts[0] == Notice(
        "You can pick up to 3. Untick one first to choose another.", alert=True
    )
    assert ask(too_many).selected == ("skills", "pay", "location")
    assert too_many.state == three.state
    assert invalid(feed(engine, step.state, Toggle("bogus"))) == (
        "That is not one of the options; please choose again."
    )
    assert invalid(feed(engine, step.state, Choose("pay", "htf_reasons"))) == (
        "Please tick the options that apply, then press Done."
    )
    done = feed(engine, step.state, Toggle("few"), Done("htf_reasons"))
    assert done.state.answers["htf_reasons"] == ["skills", "few"]
    assert done.state.selected is None
    assert isinstance(done.prompts[0], Note)
    assert asked(done) == "provision"


def test_select_multiple_by_typed_numbers_and_labels(engine: InterviewEngine) -> None:
    state = feed(
        engine,
        at_vacancies(engine).state,
        Choose("yes", "vacancies"),
        Text("3"),
        Choose("yes", "hard_to_fill"),
    ).state
    assert feed(engine, state, Text("4, 1")).state.answers["htf_reasons"] == ["skills", "few"]
    assert feed(engine, state, Text("pay")).state.answers["htf_reasons"] == ["pay"]
    assert feed(engine, state, Text("Pay; location")).state.answers["htf_reasons"] == [
        "pay",
        "location",
    ]
    assert invalid(feed(engine, state, Text("1,9"))) == (
        "I couldn't match “9” to an option. Please tap the options that apply, then Done, "
        "or type their names separated by commas."
    )
    assert invalid(feed(engine, state, Text("1,2,3,4"))) == "Please choose no more than 3 options."
    other = feed(engine, state, Text("1,5"))
    assert ask(other).follow_up
    step = feed(engine, other.state, Text("Shift patterns"))
    assert step.state.answers["htf_reasons"] == ["skills", "other"]
    assert step.state.answers["htf_reasons_other"] == "Shift patterns"


def _at_provision(engine: InterviewEngine) -> Step:
    return feed(engine, at_vacancies(engine).state, Choose("no", "vacancies"))


def test_scale(engine: InterviewEngine) -> None:
    step = _at_provision(engine)
    question = ask(step)
    assert [c.label for c in question.options] == [
        "1 – Very poorly",
        "2",
        "3",
        "4",
        "5 – Very well",
    ]
    assert feed(engine, step.state, Choose("4", "provision")).state.answers["provision"] == 4
    assert feed(engine, step.state, Text("5")).state.answers["provision"] == 5
    assert invalid(feed(engine, step.state, Text("6"))) == "Please choose a number from 1 to 5."
    assert invalid(feed(engine, step.state, Text("Nice"))) == "Please choose a number from 1 to 5."
    assert invalid(feed(engine, step.state, Toggle("4"))) == "Please choose one of the options."
    assert invalid(feed(engine, step.state, Done())) == "Please choose one of the options."


def test_decimal(engine: InterviewEngine) -> None:
    state = feed(engine, _at_provision(engine).state, Choose("3", "provision")).state
    for bad in ("half", "nan", "inf", "1e3", "101", "-1"):
        assert invalid(feed(engine, state, Text(bad))) == "Please send a number from 0 to 100.", bad
    step = feed(engine, state, Text("12.5"))
    assert step.state.answers["share"] == 12.5
    assert feed(engine, state, Text("40")).state.answers["share"] == 40.0


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2026-03-01", "2026-03-01"),
        ("1/3/2026", "2026-03-01"),
        ("01/03/2026", "2026-03-01"),
        ("1 March 2026", "2026-03-01"),
        ("1st mar 2026", "2026-03-01"),
        ("31.01.26", "2026-01-31"),
    ],
)
def test_dates_are_read_day_first(engine: InterviewEngine, text: str, iso: str) -> None:
    state = feed(engine, _at_provision(engine).state, Choose("3", "provision"), Skip()).state
    step = feed(engine, state, Text(text))
    assert step.state.answers["start_date"] == iso


@pytest.mark.parametrize(
    "text", ["31/02/2026", "tomorrow", "2026-13-01", "1 Smarch 2026", "13/13/13"]
)
def test_bad_dates(engine: InterviewEngine, text: str) -> None:
    state = feed(engine, _at_provision(engine).state, Choose("3", "provision"), Skip()).state
    assert invalid(feed(engine, state, Text(text))) == "Please send a date, for example 31/01/2026."
    assert parse_date(text) is None


def test_wrong_kind_of_input(engine: InterviewEngine) -> None:
    state = feed(engine, engine.start().state, Choose("yes", "consent")).state
    assert invalid(feed(engine, state, Toggle("x", "org_name"))) == "Please type your answer."
    assert invalid(feed(engine, state, Done("org_name"))) == "Please type your answer."
    assert invalid(feed(engine, state, Choose("x", "org_name"))) == "Please type your answer."
    step = feed(engine, state, Submit())
    assert invalid(step).startswith("Please answer the remaining questions first")
    assert asked(step) == "org_name"


def test_stale_buttons_change_nothing(engine: InterviewEngine) -> None:
    step = at_vacancies(engine)
    for event in (
        Choose("construction", "sector"),
        Toggle("pay", "htf_reasons"),
        Done("sector"),
        Skip("sector"),
    ):
        stale = feed(engine, step.state, event)
        assert isinstance(stale.prompts[0], Stale)
        assert stale.prompts[0].message.startswith("That button belongs to an earlier question")
        assert stale.state == step.state
        assert asked(stale) == "vacancies"


# --- skip, back, progress -------------------------------------------------------------------


def test_skip_only_optional_questions(engine: InterviewEngine) -> None:
    step = _at_provision(engine)
    assert invalid(feed(engine, step.state, Skip("provision"))) == "This question can't be skipped."
    step = feed(engine, step.state, Choose("2", "provision"))
    assert ask(step).can_skip
    step = feed(engine, step.state, Text("50"), Back())
    assert asked(step) == "share"
    assert ask(step).current == 50.0
    step = feed(engine, step.state, Skip("share"))
    assert "share" not in step.state.answers
    assert asked(step) == "start_date"
    # A skipped question is visited: Back goes to it.
    step = feed(engine, step.state, Back())
    assert asked(step) == "share"
    assert ask(step).current is None


def test_empty_text_on_optional_question_skips_it(engine: InterviewEngine) -> None:
    step = feed(engine, _at_provision(engine).state, Choose("2", "provision"), Text(""))
    assert asked(step) == "start_date"
    assert "share" not in step.state.answers


def test_back_shows_current_answer_and_forward_moves_on(engine: InterviewEngine) -> None:
    step = at_vacancies(engine)
    assert ask(step).can_back
    step = feed(engine, step.state, Back())
    assert asked(step) == "staff"
    assert ask(step).current == 20
    step = feed(engine, step.state, Back())
    assert asked(step) == "sector"
    assert ask(step).selected == ("manufacturing",)
    step = feed(engine, step.state, Text("2"))
    assert asked(step) == "staff"
    assert ask(step).current == 20
    step = feed(engine, step.state, Text("25"))
    assert asked(step) == "vacancies"


def test_back_at_first_question(engine: InterviewEngine) -> None:
    start = engine.start().state
    step = feed(engine, start, Back())
    assert invalid(step) == "This is the first question."
    assert step.state == start
    assert asked(step) == "consent"


def test_back_skips_questions_no_longer_relevant(engine: InterviewEngine) -> None:
    step = feed(engine, at_vacancies(engine).state, Choose("no", "vacancies"), Back())
    assert asked(step) == "vacancies"
    step = feed(engine, _at_provision(engine).state, Back())
    assert asked(step) == "vacancies"


def test_progress_counts_relevant_questions(engine: InterviewEngine) -> None:
    step = at_vacancies(engine)
    assert (ask(step).position, ask(step).total) == (5, 10)
    assert engine.progress(step.state) == (5, 10)
    assert engine.current_question(step.state) == engine.interview.question("vacancies")
    step = feed(engine, step.state, Choose("yes", "vacancies"))
    assert (ask(step).position, ask(step).total) == (6, 12)
    step = feed(engine, step.state, Text("2"), Choose("yes", "hard_to_fill"))
    assert (ask(step).position, ask(step).total) == (8, 13)


def test_going_back_and_changing_a_branch_drops_answers(engine: InterviewEngine) -> None:
    step = feed(
        engine,
        at_vacancies(engine).state,
        Choose("yes", "vacancies"),
        Text("2"),
        Choose("yes", "hard_to_fill"),
        Text("1,5"),
        Text("Shifts"),
        Back(),
        Back(),
        Back(),
        Back(),
    )
    assert asked(step) == "vacancies"
    assert step.state.answers["htf_reasons_other"] == "Shifts"
    step = feed(engine, step.state, Text("no"))
    answers = step.state.answers
    assert not {"vacancy_count", "hard_to_fill", "htf_reasons", "htf_reasons_other"} & set(answers)
    assert asked(step) == "provision"


# --- review, edit, submit -----------------------------------------------------------------


def complete_walk(engine: InterviewEngine, *, vacancies: bool) -> Step:
    events: list[Input] = [*CONSENTED, Text("20")]
    if vacancies:
        events += [Choose("yes", "vacancies"), Text("2"), Choose("yes", "hard_to_fill")]
        events += [Toggle("pay"), Toggle("other"), Done(), Text("Night shifts")]
    else:
        events += [Choose("no", "vacancies")]
    events += [Choose("4", "provision"), Text("12.5"), Skip(), Toggle("cost"), Done(), Skip()]
    return feed(engine, engine.start().state, *events)


def test_complete_walk_ends_on_review_then_submit(engine: InterviewEngine) -> None:
    step = complete_walk(engine, vacancies=True)
    assert step.state.status == "review"
    assert step.state.current is None
    summary = step.prompts[-1]
    assert isinstance(summary, ReviewSummary)
    assert summary.complete
    shown = {item.question_id: item.display for item in summary.items}
    assert shown == {
        "consent": "Yes",
        "org_name": "Acme Ltd",
        "sector": "Manufacturing",
        "staff": "20",
        "vacancies": "Yes",
        "vacancy_count": "2",
        "hard_to_fill": "Yes",
        "htf_reasons": "Pay; Other: Night shifts",
        "provision": "4",
        "share": "12.5",
        "start_date": "(skipped)",
        "barriers": "Cost",
        "comments": "(skipped)",
    }
    done = feed(engine, step.state, Submit())
    assert done.state.status == "completed"
    (completed,) = done.prompts
    assert isinstance(completed, Completed)
    assert completed.answers == step.state.answers
    assert completed.answers["htf_reasons"] == ["pay", "other"]


def test_review_screen_refuses_typed_numbers_and_stale_buttons(engine: InterviewEngine) -> None:
    step = complete_walk(engine, vacancies=False)
    typed = feed(engine, step.state, Text("3"))
    assert invalid(typed).startswith("Please choose an answer to change")
    assert isinstance(typed.prompts[-1], ReviewSummary)
    assert typed.state == step.state
    assert feed(engine, step.state, Text("submit")).state.status == "review"
    stale = feed(engine, step.state, Choose("3", "provision"))
    assert isinstance(stale.prompts[0], Stale)
    assert stale.state == step.state


def test_review_in_the_middle_lists_answers_so_far(engine: InterviewEngine) -> None:
    step = at_vacancies(engine)
    shown = feed(engine, step.state, Review())
    summary, question = shown.prompts
    assert isinstance(summary, ReviewSummary)
    assert not summary.complete
    assert [item.question_id for item in summary.items] == [
        "consent",
        "org_name",
        "sector",
        "staff",
    ]
    assert isinstance(question, Ask)
    assert shown.state == step.state
    # Edit from the middle: go to that answer, then carry on in order.
    step = feed(engine, step.state, Edit("sector"))
    assert asked(step) == "sector"
    step = feed(engine, step.state, Text("2"))
    assert asked(step) == "staff"
    assert invalid(feed(engine, step.state, Edit("provision"))) == (
        "You can answer that question when you reach it."
    )


def test_edit_from_review_returns_to_review(engine: InterviewEngine) -> None:
    step = complete_walk(engine, vacancies=False)
    step = feed(engine, step.state, Edit("org_name"))
    assert asked(step) == "org_name"
    assert ask(step).current == "Acme Ltd"
    assert not ask(step).can_back
    assert step.state.status == "review"
    step = feed(engine, step.state, Text("Acme Holdings"))
    assert isinstance(step.prompts[-1], ReviewSummary)
    assert step.state.answers["org_name"] == "Acme Holdings"
    assert step.state.current is None


def test_edit_that_makes_questions_relevant_asks_them_then_reviews(
    engine: InterviewEngine,
) -> None:
    step = complete_walk(engine, vacancies=False)
    step = feed(engine, step.state, Edit("vacancies"), Choose("yes", "vacancies"))
    assert asked(step) == "vacancy_count"
    assert step.state.status == "review"
    # Leaving now is refused: the new question is needed.
    for event in (Review(), Back(), Submit(), Edit("org_name")):
        assert invalid(feed(engine, step.state, event)).startswith("Please answer this question")
    step = feed(engine, step.state, Text("3"), Choose("yes", "hard_to_fill"))
    assert asked(step) == "htf_reasons"
    step = feed(engine, step.state, Text("1"))
    summary = step.prompts[-1]
    assert isinstance(summary, ReviewSummary)
    assert summary.complete
    assert step.state.answers["htf_reasons"] == ["skills"]
    assert feed(engine, step.state, Submit()).state.status == "completed"


def test_edit_that_drops_answers(engine: InterviewEngine) -> None:
    step = complete_walk(engine, vacancies=True)
    step = feed(engine, step.state, Edit("vacancies"), Choose("no", "vacancies"))
    summary = step.prompts[-1]
    assert isinstance(summary, ReviewSummary)
    ids = [item.question_id for item in summary.items]
    assert "vacancy_count" not in ids
    assert "htf_reasons" not in ids
    assert set(step.state.answers).isdisjoint(
        {"vacancy_count", "hard_to_fill", "htf_reasons", "htf_reasons_other"}
    )


def test_edit_other_choice_asks_follow_up_then_reviews(engine: InterviewEngine) -> None:
    step = complete_walk(engine, vacancies=False)
    step = feed(engine, step.state, Edit("sector"), Choose("other", "sector"))
    assert ask(step).follow_up
    assert invalid(feed(engine, step.state, Review())).startswith("Please answer this question")
    step = feed(engine, step.state, Text("Retail"))
    assert isinstance(step.prompts[-1], ReviewSummary)
    assert step.state.answers["sector_other"] == "Retail"


def test_edit_then_review_keeps_the_old_answer(engine: InterviewEngine) -> None:
    step = complete_walk(engine, vacancies=False)
    edited = feed(engine, step.state, Edit("staff"), Review())
    assert edited.state.answers == step.state.answers
    assert edited.state.current is None


def test_edit_unknown_or_irrelevant_question(engine: InterviewEngine) -> None:
    step = complete_walk(engine, vacancies=False)
    for qid in ("nope", "vacancy_count", "welcome"):
        assert invalid(feed(engine, step.state, Edit(qid))) == "There is no such answer to change."


def test_back_from_review_goes_to_last_question(engine: InterviewEngine) -> None:
    step = feed(engine, complete_walk(engine, vacancies=False).state, Back())
    assert asked(step) == "comments"
    assert step.state.status == "in_progress"
    step = feed(engine, step.state, Text("Thanks"))
    assert isinstance(step.prompts[-1], ReviewSummary)


# --- resume, restart, finished, definition changes ----------------------------------------


def test_resume_repeats_the_prompt(engine: InterviewEngine) -> None:
    step = feed(engine, at_vacancies(engine).state, Choose("yes", "vacancies"), Text("2"))
    step = feed(engine, step.state, Choose("yes", "hard_to_fill"), Toggle("pay"))
    resumed = feed(engine, step.state, Resume())
    assert resumed.state == step.state
    assert ask(resumed).selected == ("pay",)
    review = complete_walk(engine, vacancies=False)
    again = feed(engine, review.state, Resume())
    assert again.prompts == (review.prompts[-1],)


def test_restart_clears_answers(engine: InterviewEngine) -> None:
    step = feed(engine, at_vacancies(engine).state, Restart())
    assert step.state == engine.start().state
    assert asked(step) == "consent"


def test_after_completion_only_review_and_restart_work(engine: InterviewEngine) -> None:
    done = feed(engine, complete_walk(engine, vacancies=False).state, Submit())
    for event in (
        Text("hi"),
        Choose("yes", "consent"),
        Back(),
        Skip(),
        Submit(),
        Resume(),
        Edit("org_name"),
    ):
        step = feed(engine, done.state, event)
        (stale,) = step.prompts
        assert isinstance(stale, Stale)
        assert "finished" in stale.message
        assert step.state == done.state
    review = feed(engine, done.state, Review())
    (summary,) = review.prompts
    assert isinstance(summary, ReviewSummary)
    assert summary.complete
    assert feed(engine, done.state, Restart()).state.status == "in_progress"


def test_after_decline_inputs_are_refused(engine: InterviewEngine) -> None:
    declined = feed(engine, engine.start().state, Choose("no", "consent"))
    step = feed(engine, declined.state, Choose("yes", "consent"))
    assert isinstance(step.prompts[0], Stale)
    assert step.state.status == "declined"
    review = feed(engine, declined.state, Review())
    assert review.prompts == (ReviewSummary((), complete=True, submitted=True),)


def test_state_from_another_version_raises(interview: Interview) -> None:
    old = InterviewEngine(recruitment_interview(version="0")).start().state
    with pytest.raises(DefinitionChanged):
        InterviewEngine(interview).handle(old, Resume())


def test_impossible_state_raises_a_domain_error(engine: InterviewEngine) -> None:
    state = engine.start().state
    stored = state.to_json()
    with pytest.raises(InterviewStateError, match="status 'lost'"):
        engine.handle(replace(state, status="lost"), Resume())
    with pytest.raises(InterviewStateError, match="not an interview state"):
        engine.handle(InterviewState.from_json({}), Resume())
    with pytest.raises(InterviewStateError, match="current question is not valid"):
        engine.handle(replace(state, current="no_such_question"), Resume())
    with pytest.raises(InterviewStateError, match="status 'unreadable'"):
        engine.handle(InterviewState.from_json({**stored, "current": ["consent"]}), Resume())
    with pytest.raises(InterviewStateError, match="current question is a note"):
        engine.handle(replace(state, current="welcome"), Resume())


def test_display_value(interview: Interview) -> None:
    q = interview.question
    assert display_value(q("start_date"), "2026-03-01") == "1 March 2026"
    assert display_value(q("vacancies"), "no") == "No"
    assert display_value(q("sector"), "other", {"sector_other": "Retail"}) == "Other: Retail"
    assert display_value(q("sector"), "other") == "Other"
    assert display_value(q("barriers"), ["cost", "time"]) == "Cost; Time away from work"
    assert display_value(q("share"), 40.0) == "40"
    assert display_value(q("comments"), None) == "(skipped)"


# --- the built-in interview ---------------------------------------------------------------


@pytest.fixture(scope="module")
def builtin() -> InterviewEngine:
    return InterviewEngine(load_interview(builtin_interview_path()))


def usual_reply(question: Ask) -> list[Input]:
    """A plausible answer to any question, for walks that do not care about its value."""
    kind = question.question.type
    qid = question.question.id
    if question.follow_up:
        return [Text("Something else")]
    if kind in ("consent", "yes_no"):
        return [Choose("yes", qid)]
    if kind in ("select_one", "scale"):
        return [Choose(question.options[0].value, qid)]
    if kind == "select_multiple":
        return [Toggle(question.options[0].value, qid), Done(qid)]
    if kind == "integer":
        return [Text("3")]
    if kind == "decimal":
        return [Text("2.5")]
    if kind == "date":
        return [Text("1/3/2026")]
    return [Text("Some text")]


def walk(engine: InterviewEngine, plan: dict[str, list[Input]]) -> tuple[Step, list[str]]:
    """Answer every question until the review screen: `plan` where given, else usually."""
    step = engine.start()
    seen: list[str] = []
    while step.state.status == "in_progress" or step.state.current is not None:
        question = ask(step)
        qid = question.question.id
        seen.append(qid + ("+other" if question.follow_up else ""))
        events = usual_reply(question) if question.follow_up else plan.get(qid)
        step = feed(engine, step.state, *(events or usual_reply(question)))
        assert len(seen) < 100
    return step, seen


HARD_TO_FILL: dict[str, list[Input]] = {
    "org_name": [Text("Fenland Fabrication Ltd")],
    "sector": [Text("Manufacturing")],
    "headcount": [Text("30")],
    "vacancies": [Choose("yes", "vacancies")],
    "vacancy_count": [Text("4")],
    "hard_to_fill": [Text("yes")],
    "htf_count": [Text("3")],
    "htf_occupations": [Text("5,8")],
    "htf_reasons": [Toggle("few_skilled"), Toggle("other"), Done()],
    "staff_not_proficient": [Choose("10-24", "staff_not_proficient")],
    "gap_count": [Text("5")],
    "upskilling_needed": [Choose("yes", "upskilling_needed")],
    "future_skills": [Text("1,3,4")],
    "provision_fit": [Skip("provision_fit")],
    "comments": [Text("We need more welders.")],
}
NO_VACANCIES: dict[str, list[Input]] = {
    "vacancies": [Choose("no", "vacancies")],
    "staff_not_proficient": [Choose("none", "staff_not_proficient")],
    "upskilling_needed": [Choose("no", "upskilling_needed")],
    "provision_fit": [Text("4")],
    "comments": [Skip("comments")],
}


def test_builtin_walk_with_hard_to_fill_vacancies(builtin: InterviewEngine) -> None:
    step, seen = walk(builtin, HARD_TO_FILL)
    assert seen[:2] == ["consent", "org_name"]
    assert "htf_reasons+other" in seen
    assert {"applicant_skills_lacking", "staff_skills_gaps", "upskilling_drivers"} <= set(seen)
    answers = step.state.answers
    assert answers["htf_reasons"] == ["few_skilled", "other"]
    assert answers["htf_reasons_other"] == "Something else"
    assert answers["htf_occupations"] == ["soc5", "soc8"]
    assert answers["sector"] == "manufacturing"
    assert "provision_fit" not in answers
    summary = step.prompts[-1]
    assert isinstance(summary, ReviewSummary)
    assert summary.complete
    shown = {item.question_id: item.display for item in summary.items}
    assert shown["provision_fit"] == "(skipped)"
    assert (
        shown["htf_reasons"] == "Too few applicants with the skills needed; Other: Something else"
    )
    done = feed(builtin, step.state, Submit())
    assert done.prompts == (Completed(answers),)
    # Changing to "no vacancies" from the review drops the whole recruitment branch.
    edited = feed(builtin, step.state, Edit("vacancies"), Choose("no", "vacancies"))
    assert isinstance(edited.prompts[-1], ReviewSummary)
    dropped = {"vacancy_count", "hard_to_fill", "htf_count", "htf_occupations", "htf_reasons"}
    assert not (dropped | {"htf_reasons_other", "applicant_skills_lacking"}) & set(
        edited.state.answers
    )


def test_builtin_walk_without_vacancies(builtin: InterviewEngine) -> None:
    step, seen = walk(builtin, NO_VACANCIES)
    assert not {"vacancy_count", "hard_to_fill", "staff_skills_gaps", "upskilling_drivers"} & set(
        seen
    )
    answers = step.state.answers
    assert answers["provision_fit"] == 4
    assert "comments" not in answers
    assert answers["consent"] == "yes"
    position, total = builtin.progress(step.state)
    assert position == total == len([q for q in seen if not q.endswith("+other")])


def test_builtin_constraint_for_sole_traders(builtin: InterviewEngine) -> None:
    plan: dict[str, list[Input]] = {**HARD_TO_FILL, "headcount": [Text("1")]}
    step = builtin.start()
    while ask(step).question.id != "vacancy_count":
        question = ask(step)
        step = feed(builtin, step.state, *plan.get(question.question.id, usual_reply(question)))
    assert invalid(feed(builtin, step.state, Text("11"))).startswith("You told us you work")
    assert feed(builtin, step.state, Text("10")).state.answers["vacancy_count"] == 10


# --- random input never breaks the engine -------------------------------------------------

QUESTION_IDS = st.sampled_from(["consent", "org_name", "sector", "staff", "htf_reasons", "nope"])
VALUES = st.sampled_from(["yes", "no", "other", "pay", "skills", "3", "manufacturing", "x"])
TEXTS = st.sampled_from(
    ["1", "2", "3", "1,5", "yes", "No", "", "  ", "Acme", "0", "21", "1/3/2026", "12.5", "9" * 30]
) | st.text(max_size=20)
BUTTON_IDS = st.none() | QUESTION_IDS
INPUTS: st.SearchStrategy[Input] = st.one_of(
    st.builds(Text, TEXTS),
    st.builds(Choose, VALUES, BUTTON_IDS),
    st.builds(Toggle, VALUES, BUTTON_IDS),
    st.builds(Done, BUTTON_IDS),
    st.builds(Skip, BUTTON_IDS),
    st.builds(Edit, QUESTION_IDS),
    st.sampled_from([Back(), Review(), Submit(), Restart(), Resume()]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=st.lists(INPUTS, max_size=40))
def test_random_inputs_never_raise(events: list[Input]) -> None:
    check_random_walk(InterviewEngine(recruitment_interview()), events)


BUILTIN_IDS = st.sampled_from(
    ["consent", "sector", "vacancies", "hard_to_fill", "htf_reasons", "future_skills"]
)
BUILTIN_INPUTS: st.SearchStrategy[Input] = st.one_of(
    st.builds(Text, TEXTS),
    st.builds(Choose, st.sampled_from(["yes", "no", "other", "manufacturing", "2"]), BUILTIN_IDS),
    st.builds(Toggle, st.sampled_from(["few_skilled", "other", "basic_digital"]), BUILTIN_IDS),
    st.builds(Done, st.none() | BUILTIN_IDS),
    st.builds(Edit, BUILTIN_IDS),
    st.sampled_from([Back(), Skip(), Review(), Submit(), Restart(), Resume()]),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(events=st.lists(BUILTIN_INPUTS, max_size=60))
def test_random_inputs_on_the_builtin_interview(
    builtin: InterviewEngine, events: list[Input]
) -> None:
    check_random_walk(builtin, events)


def check_random_walk(engine: InterviewEngine, events: list[Input]) -> None:
    """Every step gives prompts and a JSON-safe state that fits its status."""
    step = engine.start()
    for event in events:
        step = engine.handle(step.state, event)
        assert step.prompts
        stored = json.loads(json.dumps(step.state.to_json()))
        assert InterviewState.from_json(stored) == step.state
        assert step.state.status in ("in_progress", "review", "completed", "declined")
        if step.state.status == "in_progress":
            assert isinstance(step.prompts[-1], Ask)
        if step.state.status == "declined":
            assert step.state.answers == {}


@pytest.mark.parametrize(
    "invisible",
    ["\u200b\u200b\u200b", "\u200d\ufeff\u2060", "\u3164", "\u2800 \u00a0", "\u200e\u200f", "\x00"],
)
def test_an_answer_of_invisible_characters_only_is_refused_as_empty(
    engine: InterviewEngine, invisible: str
) -> None:
    start = feed(engine, engine.start().state, Choose("yes", "consent"))
    assert asked(start) == "org_name"
    step = feed(engine, start.state, Text(invisible))
    assert invalid(step) == "This question needs an answer."
    assert "org_name" not in step.state.answers


def test_control_characters_are_taken_out_of_typed_answers(engine: InterviewEngine) -> None:
    start = feed(engine, engine.start().state, Choose("yes", "consent"))
    step = feed(engine, start.state, Text("Acme\x00 Ltd\x07\r\nEly\x1b"))
    assert step.state.answers["org_name"] == "Acme Ltd\nEly"


def test_visible_text_keeps_its_joiners_and_tags(engine: InterviewEngine) -> None:
    start = feed(engine, engine.start().state, Choose("yes", "consent"))
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    england = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
    step = feed(engine, start.state, Text(f"{family} {england}"))
    assert step.state.answers["org_name"] == f"{family} {england}"


def test_an_other_text_of_invisible_characters_is_refused(engine: InterviewEngine) -> None:
    step = feed(engine, engine.start().state, *CONSENTED[:2], Choose("other", "sector"))
    step = feed(engine, step.state, Text("\u200b\u200c"))
    assert invalid(step) == 'Please type your answer for "Other".'
