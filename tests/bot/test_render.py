"""Rendering prompts: text, keyboards, escaping, splitting, and callback data sizes."""

from __future__ import annotations

from html import escape

import pytest

from bot.core.callbacks import MAX_CALLBACK_BYTES, Action, parse_button
from bot.core.limits import telegram_length
from bot.core.render import (
    EDIT_MARK,
    MAX_MESSAGE_CHARS,
    MORE,
    MOST_OPTIONS,
    PREVIOUS,
    REVIEW_PAGE_SIZE,
    SELECTED_MARK,
    UNSELECTED_MARK,
    answered_text,
    option_pages,
    page_of,
    pages,
    render_ask,
    render_prompts,
    render_review,
    review_pages,
    split_text,
)
from conversations.definition import Choice, Interview, Part, Question, Section
from conversations.engine import InterviewEngine, choice_options
from conversations.events import (
    Ask,
    Completed,
    Declined,
    Invalid,
    Note,
    ReviewItem,
    ReviewSummary,
    Stale,
)
from conversations.loader import builtin_interview_path, load_interview

BIGGEST_RESPONSE_ID = 2**63 - 1  # a BigInteger primary key at its limit


@pytest.fixture(scope="module")
def builtin() -> Interview:
    return load_interview(builtin_interview_path())


def make_interview(*questions: Question) -> Interview:
    return Interview(
        id="t", title="T", version="1", sections=(Section("s", "Skills & <plans>", questions),)
    )


def ask_for(question: Question, **overrides: object) -> Ask:
    values: dict[str, object] = {
        "question": question,
        "options": choice_options(question),
        "selected": (),
        "current": None,
        "position": 7,
        "total": 24,
        "can_skip": not question.required,
        "can_back": True,
        "section_title": "Skills & <plans>",
    }
    values.update(overrides)
    return Ask(**values)  # type: ignore[arg-type]


def labels(outgoing_keyboard: object) -> list[list[str]]:
    assert outgoing_keyboard is not None
    return [[b.text for b in row] for row in outgoing_keyboard.inline_keyboard]  # type: ignore[attr-defined]


def test_every_button_of_the_builtin_interview_fits_in_64_bytes(builtin: Interview) -> None:
    for index, question in enumerate(builtin.questions):
        if not question.answerable:
            continue
        options = choice_options(question)
        ask = ask_for(question, options=options, can_skip=True)
        for page in range(len(option_pages(ask))):  # "More…" and "« Back" too
            message = render_ask(ask, interview=builtin, response_id=BIGGEST_RESPONSE_ID, page=page)
            for row in message.keyboard.inline_keyboard if message.keyboard else []:
                for button in row:
                    assert button.callback_data is not None
                    assert len(button.callback_data.encode()) <= MAX_CALLBACK_BYTES
                    parsed = parse_button(button.callback_data)
                    assert parsed is not None
                    assert parsed.question == index
                    assert parsed.response == BIGGEST_RESPONSE_ID
    review = ReviewSummary(review_items(builtin), complete=True)
    for page in range(len(review_pages(review))):
        (message,) = render_review(
            review, interview=builtin, response_id=BIGGEST_RESPONSE_ID, page=page
        )
        for button in [b for row in message.keyboard.inline_keyboard for b in row]:  # type: ignore[union-attr]
            assert len((button.callback_data or "").encode()) <= MAX_CALLBACK_BYTES
            assert parse_button(button.callback_data) is not None


def test_select_one_shows_position_section_and_escaped_text() -> None:
    question = Question(
        "sector",
        "select_one",
        "Your <main> activity?",
        "s",
        hint="Pick one & only one",
        choices=(Choice("a", "Farming"), Choice("b", "Retail"), Choice("c", "Care")),
    )
    interview = make_interview(question)
    message = render_ask(ask_for(question), interview=interview, response_id=5, show_section=True)
    assert message.text.splitlines() == [
        "<b>Skills &amp; &lt;plans&gt;</b>",
        "<i>Question 7 of 24</i>",
        "<b>Your &lt;main&gt; activity?</b>",
        "<i>Pick one &amp; only one</i>",
    ]
    assert labels(message.keyboard) == [["Farming", "Retail", "Care"]]
    first = message.keyboard.inline_keyboard[0][0].callback_data  # type: ignore[union-attr]
    assert parse_button(first).action is Action.CHOOSE  # type: ignore[union-attr]
    assert message.question_id == "sector"


def test_long_labels_go_one_per_row_and_medium_two() -> None:
    long_choices = tuple(Choice(f"v{i}", f"A rather long label number {i}") for i in range(3))
    medium = tuple(Choice(f"v{i}", f"Medium label {i}") for i in range(3))
    for choices, rows in ((long_choices, [1, 1, 1]), (medium, [2, 1])):
        question = Question("q", "select_one", "Q?", "s", choices=choices)
        message = render_ask(ask_for(question), interview=make_interview(question), response_id=1)
        assert [len(row) for row in labels(message.keyboard)] == rows


def test_scale_is_one_row_with_the_ends_named_in_the_text() -> None:
    question = Question(
        "ai", "scale", "How much?", "s", min=1, max=5, min_label="Not at all", max_label="A lot"
    )
    message = render_ask(ask_for(question), interview=make_interview(question), response_id=1)
    assert "1 = Not at all … 5 = A lot" in message.text
    assert len(labels(message.keyboard)) == 1
    assert len(labels(message.keyboard)[0]) == 5


def test_a_0_to_10_scale_keeps_within_telegrams_8_buttons_a_row() -> None:
    question = Question("nps", "scale", "How likely?", "s", min=0, max=10)
    message = render_ask(ask_for(question), interview=make_interview(question), response_id=1)
    assert labels(message.keyboard) == [
        ["0", "1", "2", "3", "4", "5"],
        ["6", "7", "8", "9", "10"],
    ]


def test_multi_select_shows_toggle_marks_done_and_skip() -> None:
    question = Question(
        "skills",
        "select_multiple",
        "Which?",
        "s",
        required=False,
        choices=(Choice("it", "IT"), Choice("sales", "Sales")),
    )
    ask = ask_for(question, selected=("sales",))
    message = render_ask(ask, interview=make_interview(question), response_id=1)
    assert labels(message.keyboard) == [
        [UNSELECTED_MARK + "IT", SELECTED_MARK + "Sales"],
        ["Done"],
        ["Skip"],
    ]
    assert "then <b>Done</b>" in message.text


@pytest.mark.parametrize(
    ("question", "wanted"),
    [
        (Question("n", "text", "Name?", "s", max=120), "up to 120 characters"),
        (Question("c", "integer", "How many?", "s", min=0, max=10000), "whole number from 0"),
        (Question("d", "decimal", "Share?", "s", min=0.5), "number of at least 0.5"),
        (Question("w", "date", "When?", "s"), "date, for example 31/03/2026"),
    ],
)
def test_typed_questions_say_what_format_is_wanted(question: Question, wanted: str) -> None:
    message = render_ask(ask_for(question), interview=make_interview(question), response_id=1)
    assert wanted in message.text
    assert message.keyboard is None


def test_answered_question_shows_the_choice_without_instructions() -> None:
    question = Question("n", "text", "Name?", "s", max=120)
    text = answered_text(ask_for(question), "Acme <Ltd>")
    assert text.endswith("→ Acme &lt;Ltd&gt;")
    assert "characters" not in text


def test_notes_invalid_stale_declined_and_completed() -> None:
    note = Question("privacy", "note", "Privacy <notice>", "s")
    interview = make_interview(note)
    messages = render_prompts(
        [
            Note(note),
            Invalid("Please enter 10 or fewer."),
            Stale("Old button."),
            Declined("Thank you."),
            Completed({}),
        ],
        interview=interview,
        response_id=9,
    )
    assert [m.text for m in messages[:4]] == [
        "Privacy &lt;notice&gt;",
        "Please enter 10 or fewer.",
        "Old button.",
        "Thank you.",
    ]
    assert all(m.keyboard is None for m in messages[:4])
    assert labels(messages[4].keyboard) == [["Review my answers"]]


def test_section_title_only_when_it_changes() -> None:
    question = Question("n", "text", "Name?", "s")
    interview = make_interview(question)
    ask = ask_for(question)
    same = render_prompts(
        [ask], interview=interview, response_id=1, previous_section="Skills & <plans>"
    )
    new = render_prompts([ask], interview=interview, response_id=1, previous_section="Other")
    assert "Skills" not in same[0].text
    assert new[0].text.startswith("<b>Skills &amp; &lt;plans&gt;</b>")


def review_items(interview: Interview, display: str = "answer") -> tuple[ReviewItem, ...]:
    return tuple(
        ReviewItem(q.id, q.label, f"{display} {i}", editable=q.type != "consent")
        for i, q in enumerate(interview.questions)
        if q.answerable
    )


def flat(keyboard: object) -> list[str]:
    return [label for row in labels(keyboard) for label in row]


def test_review_pages_edit_by_question_with_labels_and_submit(builtin: Interview) -> None:
    items = review_items(builtin)
    review = ReviewSummary(items, complete=True)
    spans = review_pages(review)
    assert len(spans) > 1
    assert sum(len(span) for span in spans) == len(items)
    edited: dict[str, str] = {}
    for page in range(len(spans)):
        (message,) = render_review(review, interview=builtin, response_id=3, page=page)
        assert f"(page {page + 1} of {len(spans)})" in message.text
        buttons = [b for row in message.keyboard.inline_keyboard for b in row]  # type: ignore[union-attr]
        edits = [b for b in buttons if b.text.startswith(EDIT_MARK)]
        assert len(edits) <= REVIEW_PAGE_SIZE
        for button in edits:
            parsed = parse_button(button.callback_data)
            assert parsed is not None
            assert parsed.action is Action.EDIT
            # The button names its question (its place in the definition), by its label.
            question = builtin.questions[parsed.question]
            edited[question.id] = button.text
            assert question.label.startswith(button.text.removeprefix(EDIT_MARK).rstrip("…"))
        submit = parse_button(message.keyboard.inline_keyboard[-1][0].callback_data)  # type: ignore[union-attr]
        assert submit is not None
        assert (submit.action, submit.choice) == (Action.SUBMIT, page)
        assert "Edit 1" not in message.text
    # Every answer can be changed, except consent: /forget withdraws it.
    assert set(edited) == {item.question_id for item in items} - {"consent"}
    (first,) = render_review(review, interview=builtin, response_id=3, page=0)
    assert "take part? It takes about 10 minutes.</b>\n→ answer 1" in first.text
    assert "send /forget" in first.text
    partial = render_prompts(
        [ReviewSummary(items[:2], complete=False)], interview=builtin, response_id=3
    )
    assert "Submit" not in flat(partial[-1].keyboard)
    finished = render_prompts(
        [ReviewSummary(items, complete=True)], interview=builtin, response_id=3, editable=False
    )
    assert flat(finished[-1].keyboard) == [MORE]  # pages to turn, nothing to change


def test_a_review_opens_at_the_page_of_the_answer_just_changed(builtin: Interview) -> None:
    items = review_items(builtin)
    messages = render_prompts(
        [ReviewSummary(items, complete=True)], interview=builtin, response_id=3, focus="comments"
    )
    assert "→ answer" in messages[-1].text
    assert "Anything else" in messages[-1].text
    assert PREVIOUS in flat(messages[-1].keyboard)
    assert MORE not in flat(messages[-1].keyboard)


def test_long_answers_are_cut_in_the_review_so_a_page_is_one_message(builtin: Interview) -> None:
    for answer in ("x" * 1500, EMOJI * 2000):
        items = tuple(ReviewItem(q.id, q.label, answer) for q in builtin.questions[:12])
        review = ReviewSummary(items, complete=True)
        for page in range(len(review_pages(review))):
            (message,) = render_review(review, interview=builtin, response_id=3, page=page)
            assert telegram_length(message.text) <= MAX_MESSAGE_CHARS
            assert answer[:50] in message.text
            assert "…" in message.text
            assert "Submit" in flat(message.keyboard)


def test_pages_are_even_and_short_lists_are_not_paged() -> None:
    assert [len(span) for span in pages(27)] == [7, 7, 7, 6]
    assert [len(span) for span in pages(14)] == [7, 7]
    assert [len(span) for span in pages(11)] == [6, 5]
    assert [len(span) for span in pages(10)] == [10]
    assert [len(span) for span in pages(0)] == [0]


def test_every_long_list_of_the_builtin_interview_is_paged(builtin: Interview) -> None:
    """No message carries more than MOST_OPTIONS choice buttons, every option is on a page,
    and every page keeps the question (and, for ticks, their count) in view."""
    for question in builtin.questions:
        options = choice_options(question)
        if not options or question.type == "scale":
            continue
        ask = ask_for(question, options=options, selected=(options[0].value,))
        seen: list[str] = []
        spans = option_pages(ask)
        for page in range(len(spans)):
            message = render_ask(ask, interview=builtin, response_id=9, page=page)
            buttons = [b for row in message.keyboard.inline_keyboard for b in row]  # type: ignore[union-attr]
            choices = [
                b
                for b in buttons
                if parse_button(b.callback_data).action  # type: ignore[union-attr]
                in (Action.CHOOSE, Action.TOGGLE)
            ]
            assert len(choices) <= MOST_OPTIONS, question.id
            seen.extend(b.callback_data for b in choices)  # type: ignore[misc]
            assert escape(question.label) in message.text
            if question.type == "select_multiple":
                assert "1 ticked:" in message.text or "1 of " in message.text
            if len(spans) > 1:
                turns = [
                    parse_button(b.callback_data) for b in buttons if b.text in (MORE, PREVIOUS)
                ]
                assert {t.choice for t in turns} <= {page - 1, page + 1}  # type: ignore[union-attr]
                assert all(t.action is Action.PAGE for t in turns)  # type: ignore[union-attr]
        assert len(seen) == len(set(seen)) == len(options), question.id
    skills = builtin.by_id["applicant_skills_lacking"]
    skills_ask = ask_for(skills, options=choice_options(skills))
    # Page by group: 14 technical, 10 people, 2 digital and green, then "Other".
    assert [len(span) for span in option_pages(skills_ask)] == [7, 7, 5, 8]
    last = render_ask(skills_ask, interview=builtin, response_id=9, page=3)
    assert "<i>People and personal, Digital and green: options 20–27 of 27</i>" in last.text
    first = render_ask(skills_ask, interview=builtin, response_id=9, page=0)
    assert "<i>Technical and practical: options 1–7 of 27</i>" in first.text


def test_ticks_are_counted_against_the_most_allowed_on_every_page() -> None:
    choices = tuple(Choice(f"v{i}", f"Skill {i}") for i in range(14))
    question = Question("future", "select_multiple", "Which?", "s", max=3, choices=choices)
    ask = ask_for(question, options=choices, selected=("v1", "v12"))
    first = render_ask(ask, interview=make_interview(question), response_id=1, page=0)
    second = render_ask(ask, interview=make_interview(question), response_id=1, page=1)
    for message in (first, second):
        assert "<i>2 of 3 ticked:</i> Skill 1; Skill 12" in message.text
    assert "Options 1–7 of 14" in first.text
    assert "Options 8–14 of 14" in second.text
    assert flat(first.keyboard)[-2:] == [MORE, "Done"]
    assert flat(second.keyboard)[-4:] == [
        SELECTED_MARK + "Skill 12",
        UNSELECTED_MARK + "Skill 13",
        PREVIOUS,
        "Done",
    ]
    none = render_ask(
        ask_for(question, options=choices), interview=make_interview(question), response_id=1
    )
    assert "0 of 3 ticked so far." in none.text
    assert page_of(ask, "v12") == 1
    assert page_of(ask, "v0") == 0


def test_split_text_cuts_a_huge_block_without_breaking_entities() -> None:
    block = "a" * 4090 + "&amp;" + "b" * 5000
    parts = split_text([block])
    assert all(len(p) <= MAX_MESSAGE_CHARS for p in parts)
    assert "".join(parts) == block
    assert any("&amp;" in p for p in parts)


EMOJI = "\U0001f600"  # one character, two UTF-16 code units


def test_a_huge_emoji_block_is_cut_within_the_limit_and_loses_nothing() -> None:
    block = EMOJI * 5000
    parts = split_text([block])
    assert [telegram_length(p) for p in parts] == [4096, 4096, 1808]
    assert "".join(parts) == block


def test_a_long_answer_is_cut_in_the_answered_question_and_current_answer() -> None:
    question = Question("comments", "text", "Anything else?", "s", max=2000)
    answered = answered_text(ask_for(question), EMOJI * 2040)
    assert telegram_length(answered) <= MAX_MESSAGE_CHARS
    assert answered.endswith(EMOJI + "…")
    ask = ask_for(question, current=EMOJI * 2040)
    message = render_ask(ask, interview=make_interview(question), response_id=1)
    assert telegram_length(message.text) <= MAX_MESSAGE_CHARS


def test_every_question_of_the_builtin_interview_renders(builtin: Interview) -> None:
    engine = InterviewEngine(builtin)
    step = engine.start()
    messages = render_prompts(step.prompts, interview=builtin, response_id=1)
    assert "Privacy notice" in messages[0].text
    assert labels(messages[-1].keyboard) == [["Yes, I agree", "No"]]


def test_the_part_replaces_the_moving_question_count() -> None:
    question = Question("n", "text", "Name?", "s", max=120)
    ask = ask_for(question, part=Part(3, 7, "Recruitment & <pay>"))
    message = render_ask(ask, interview=make_interview(question), response_id=1, show_section=True)
    assert message.text.splitlines()[0] == "<i>Part 3 of 7: Recruitment &amp; &lt;pay&gt;</i>"
    assert "Question" not in message.text
    assert "Skills" not in message.text  # the part names the section


def test_the_engines_instruction_is_shown_as_given() -> None:
    question = Question("q", "select_multiple", "Which?", "s", choices=(Choice("a", "A"),))
    ask = ask_for(question, instruction="Tick up to 3, then tap Done.")
    message = render_ask(ask, interview=make_interview(question), response_id=1)
    assert "Tick up to 3, then tap Done." in message.text
    assert "Tap every option" not in message.text


def test_a_submitted_review_has_no_edit_or_submit_button(builtin: Interview) -> None:
    items = tuple(
        ReviewItem(i.question_id, i.label, i.display, editable=False) for i in review_items(builtin)
    )
    review = ReviewSummary(items, complete=True, submitted=True)
    for page in range(len(review_pages(review))):
        (message,) = render_review(review, interview=builtin, response_id=3, page=page)
        assert "The answers you submitted" in message.text
        assert "send /forget" not in message.text
        assert set(flat(message.keyboard)) <= {MORE, PREVIOUS}
