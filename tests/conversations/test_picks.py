"""Typed picks: labels, unambiguous starts of labels, the usual separators, polite refusals."""

from __future__ import annotations

import pytest

from conversations.definition import Choice
from conversations.engine import InterviewEngine
from conversations.events import Ask, Choose, Invalid, Text
from conversations.loader import builtin_interview_path, load_interview
from conversations.picks import PICK_ONE_HELP, PICK_SEVERAL_HELP, read_pick, read_picks

SECTORS = (
    Choice("manufacturing", "Manufacturing"),
    Choice("construction", "Construction"),
    Choice("wholesale_retail", "Wholesale and retail"),
    Choice("hotels_restaurants", "Hotels, restaurants and catering"),
    Choice("health_social_work", "Health and social care"),
)
SKILLS = (
    Choice("specialist", "Specialist skills or knowledge for the role"),
    Choice("manual_dexterity", "Manual dexterity"),
    Choice("managing_feelings", "Managing feelings (own or others')"),
    Choice("team_working", "Team working"),
    Choice("sales", "Sales"),
    Choice("customer_handling", "Customer handling"),
    Choice("writing", "Writing instructions or reports"),
    Choice("reading", "Reading instructions or reports"),
    Choice("numeracy", "Basic numeracy"),
    Choice("dont_know", "Don't know"),
)
SHARES = (
    Choice("none", "None"),
    Choice("1-9", "Under 10%"),
    Choice("10-24", "10% to 24%"),
    Choice("25-49", "25% to 49%"),
)


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("Construction", "construction"),
        ("  CONSTRUCTION. ", "construction"),
        ("constr", "construction"),
        ("wholesale and retail", "wholesale_retail"),
        ("retail", "wholesale_retail"),
        ("Hotels, restaurants and catering", "hotels_restaurants"),
        ("hotels restaurants", "hotels_restaurants"),
        ("health", "health_social_work"),
        ("2", "construction"),
        ("health_social_work", "health_social_work"),
    ],
)
def test_one_option_by_label_start_words_place_or_value(typed: str, value: str) -> None:
    assert read_pick(typed, SECTORS) == (value, None)


def test_a_start_shared_by_several_labels_asks_for_more() -> None:
    value, problem = read_pick("ma", SKILLS)
    assert value is None
    assert problem == (
        "“ma” could be “Manual dexterity” or “Managing feelings (own or others')”. "
        "Please type a little more of it, or tap the button."
    )
    assert read_pick("manu", SKILLS) == ("manual_dexterity", None)


def test_something_that_is_no_option_is_refused_politely() -> None:
    assert read_pick("bananas", SECTORS) == (
        None,
        f"I couldn't match “bananas” to an option. {PICK_ONE_HELP}",
    )
    assert read_pick("9", SECTORS)[0] is None
    assert read_pick("m", SECTORS)[0] is None  # one letter names nothing


def test_one_option_only_where_one_is_asked() -> None:
    assert read_pick("construction, manufacturing", SECTORS) == (
        None,
        "Please choose just one option.",
    )


@pytest.mark.parametrize(
    "typed",
    [
        "1 9",
        "1,9",
        "1, 9",
        "1;9",
        "1 and 9",
        "9 & 1",
        "Specialist skills or knowledge for the role, basic numeracy",
        "specialist; numeracy",
        "specialist and numeracy",
        "Specialist\nnumeracy",
    ],
)
def test_several_options_with_the_usual_separators(typed: str) -> None:
    assert read_picks(typed, SKILLS) == (["specialist", "numeracy"], None)


def test_labels_with_and_or_commas_inside_stay_whole() -> None:
    assert read_picks("Hotels, restaurants and catering", SECTORS) == (
        ["hotels_restaurants"],
        None,
    )
    assert read_picks("wholesale and retail, construction", SECTORS) == (
        ["construction", "wholesale_retail"],
        None,
    )
    assert read_picks("dont know", SKILLS) == (["dont_know"], None)
    assert read_picks("writing and reading", SKILLS) == (["writing", "reading"], None)


def test_several_options_name_the_piece_not_understood() -> None:
    assert read_picks("sales, juggling", SKILLS) == (
        None,
        f"I couldn't match “juggling” to an option. {PICK_SEVERAL_HELP}",
    )
    assert (
        read_picks("1 99", SKILLS)[1] == f"I couldn't match “99” to an option. {PICK_SEVERAL_HELP}"
    )


def test_a_number_past_the_end_of_the_list_may_start_a_label() -> None:
    assert read_pick("10%", SHARES) == ("10-24", None)
    assert read_pick("25", SHARES) == ("25-49", None)
    assert read_pick("under 10", SHARES) == ("1-9", None)
    assert read_pick("3", SHARES) == ("10-24", None)  # the third option, as a terminal shows


def test_a_scale_reads_its_points_and_end_labels() -> None:
    scale = (Choice("0", "0 – Not at all"), Choice("1", "1"), Choice("2", "2 – A great deal"))
    assert read_pick("0", scale, scale=True) == ("0", None)
    assert read_pick("a great deal", scale, scale=True) == ("2", None)
    assert read_pick("3", scale, scale=True)[0] is None


def test_the_hints_never_ask_for_numbers_the_buttons_do_not_show() -> None:
    assert "number" not in PICK_ONE_HELP
    assert "number" not in PICK_SEVERAL_HELP


def test_the_builtin_interview_takes_typed_labels() -> None:
    engine = InterviewEngine(load_interview(builtin_interview_path()))
    step = engine.start()
    for event in (Choose("yes", "consent"), Text("Acme"), Text("owner")):
        step = engine.handle(step.state, event)
    assert step.state.answers["role"] == "owner"
    step = engine.handle(step.state, Text("manufacturing"))
    step = engine.handle(step.state, Text("fenland"))
    assert step.state.answers["district"] == "E07000010"
    wrong = engine.handle(step.state, Text("Ely"))
    assert isinstance(wrong.prompts[0], Invalid)
    assert isinstance(wrong.prompts[-1], Ask)
