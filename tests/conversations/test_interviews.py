"""The interviews shipped in conversations/interviews/, and the built-in one in detail."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import conversations
from conversations.areas import DEFAULT_AREA, area_names, districts
from conversations.definition import Interview, Question
from conversations.expressions import evaluate, references
from conversations.loader import builtin_interview_path, load_interview

INTERVIEWS = sorted((Path(conversations.__file__).parent / "interviews").glob("*.yaml"))
TAXONOMIES = Path(__file__).resolve().parents[3] / "shared" / "data" / "taxonomies.json"
SKILLS_QUESTIONS = ("applicant_skills_lacking", "staff_skills_gaps")


@pytest.fixture(scope="module")
def builtin() -> Interview:
    return load_interview(builtin_interview_path())


def relevant(question: Question, answers: dict[str, Any]) -> bool:
    """Whether the question is asked after these answers."""
    return question.relevant is None or bool(evaluate(question.relevant.expr, answers))


def values(question: Question) -> list[str]:
    return [c.value for c in question.choices]


def test_there_are_interviews() -> None:
    assert builtin_interview_path() in INTERVIEWS


@pytest.mark.parametrize("path", INTERVIEWS, ids=lambda p: p.name)
def test_every_shipped_interview_is_valid(path: Path) -> None:
    interview = load_interview(path)
    assert interview.id == path.stem
    assert interview.questions


@pytest.mark.parametrize("area", area_names())
def test_the_builtin_interview_loads_for_every_area(area: str) -> None:
    district = load_interview(builtin_interview_path(), area=area).question("district")
    codes = [d.code for d in districts(area)]
    assert values(district) == [*codes, "several_sites", "outside_area"]
    assert district.choices[-1].label == f"Outside {area}"


def test_profile_questions_have_the_fixed_ids_and_values(builtin: Interview) -> None:
    assert builtin.question("consent").type == "consent"
    assert builtin.question("org_name").type == "text"
    assert builtin.question("role").type in ("text", "select_one")
    # Version 2 asks the headcount; storage derives the ESS size band from it.
    assert "size_band" not in builtin.by_id
    headcount = builtin.question("headcount")
    assert (headcount.type, headcount.min, headcount.relevant) == ("integer", 1, None)
    district_codes = [d.code for d in districts(DEFAULT_AREA)]
    assert values(builtin.question("district")) == [
        *district_codes,
        "several_sites",
        "outside_area",
    ]
    assert [c.label for c in builtin.question("district").choices][0] == "Cambridge"


def test_sector_offers_the_13_ess_groups(builtin: Interview) -> None:
    sector = builtin.question("sector")
    assert sector.type == "select_one"
    assert sector.other
    assert len(sector.choices) == 13
    assert values(sector)[:3] == ["primary_utilities", "manufacturing", "construction"]
    assert all(re.fullmatch(r"[a-z_]+", v) for v in values(sector))


@pytest.mark.skipif(not TAXONOMIES.exists(), reason="the shared taxonomies are not here")
def test_occupations_follow_the_soc_major_groups(builtin: Interview) -> None:
    soc = json.loads(TAXONOMIES.read_text(encoding="utf-8"))["soc2020_major_groups"]
    assert values(builtin.question("htf_occupations")) == [f"soc{g.split()[0]}" for g in soc]


def test_the_privacy_notice_comes_first_and_says_what_it_must(builtin: Interview) -> None:
    first, second = builtin.questions[:2]
    assert (first.type, second.id) == ("note", "consent")
    notice = first.label
    for needed in ("Chamber", "Employer Representative Body", "LSIP", "/myanswers", "/forget"):
        assert needed in notice
    assert "Department for Education" in notice
    assert "Strategic Authority" in notice
    assert "totals only" in notice
    assert "3 years" in notice


def test_it_reads_like_a_phone_conversation(builtin: Interview) -> None:
    # Version 2 adds two numbers ESS densities need (asked only of those concerned).
    assert 20 <= len([q for q in builtin.questions if q.answerable]) <= 32
    assert len(builtin.sections) == 7
    for question in builtin.questions:
        if question.type != "note":
            assert len(question.label) <= 90, question.id
        for choice in question.choices:
            assert len(choice.label) <= 60, (question.id, choice.label)


def test_it_uses_other_optional_answers_and_a_constraint(builtin: Interview) -> None:
    others = {q.id for q in builtin.questions if q.other}
    assert {"sector", "htf_reasons", *SKILLS_QUESTIONS, "training_barriers"} <= others
    assert not builtin.question("comments").required
    assert not builtin.question("provision_fit").required
    assert any(q.constraint and q.constraint_message for q in builtin.questions)
    assert builtin.question("follow_up").type == "yes_no"


def test_vacancy_questions_branch_on_having_vacancies(builtin: Interview) -> None:
    for qid in ("vacancy_count", "hard_to_fill"):
        assert relevant(builtin.question(qid), {"vacancies": "yes", "vacancy_count": 2})
        assert not relevant(builtin.question(qid), {"vacancies": "no"})
    assert not relevant(builtin.question("hard_to_fill"), {"vacancies": "yes", "vacancy_count": 0})
    assert relevant(builtin.question("htf_count"), {"hard_to_fill": "yes"})
    occupations = builtin.question("htf_occupations")
    assert relevant(occupations, {"vacancies": "yes", "hard_to_fill": "yes"})
    assert not relevant(occupations, {"vacancies": "yes", "hard_to_fill": "no"})
    assert not relevant(occupations, {"vacancies": "no"})


@pytest.mark.parametrize(
    ("reasons", "asked"),
    [
        (["few_skilled"], True),
        (["pay_conditions", "lack_experience"], True),
        (["lack_qualifications"], True),
        (["pay_conditions", "seasonal"], False),
        ([], False),
    ],
)
def test_applicant_skills_are_asked_only_for_skill_shortages(
    builtin: Interview, reasons: list[str], asked: bool
) -> None:
    answers = {"vacancies": "yes", "hard_to_fill": "yes", "htf_reasons": reasons}
    assert relevant(builtin.question("applicant_skills_lacking"), answers) is asked
    assert not relevant(builtin.question("applicant_skills_lacking"), {"vacancies": "no"})


@pytest.mark.parametrize(
    ("share", "asked"), [("none", False), ("dont_know", False), ("1-9", True), ("50+", True)]
)
def test_staff_skills_gaps_follow_the_share_not_proficient(
    builtin: Interview, share: str, asked: bool
) -> None:
    for qid in ("staff_skills_gaps", "gap_impact"):
        answers = {"headcount": 5, "staff_not_proficient": share}
        assert relevant(builtin.question(qid), answers) is asked


@pytest.mark.parametrize("share", ["1-9", "50+", "none"])
def test_sole_traders_are_not_asked_about_their_staff(builtin: Interview, share: str) -> None:
    sole_trader = {"headcount": 1, "staff_not_proficient": share}
    for qid in ("staff_not_proficient", "gap_count", "staff_skills_gaps", "gap_impact"):
        assert not relevant(builtin.question(qid), sole_trader)
    assert relevant(builtin.question("staff_not_proficient"), {"headcount": 3})


def test_vacancy_count_is_checked_against_the_size_of_the_business(builtin: Interview) -> None:
    count = builtin.question("vacancy_count")
    assert count.constraint is not None
    assert (count.min, count.max) == (0, 10000)
    assert evaluate(count.constraint.expr, {"headcount": 1}, current=2)
    assert not evaluate(count.constraint.expr, {"headcount": 1}, current=11)
    assert evaluate(count.constraint.expr, {"headcount": 15}, current=11)


def test_skills_questions_share_one_list_and_are_documented(builtin: Interview) -> None:
    lacking, gaps = (builtin.question(qid) for qid in SKILLS_QUESTIONS)
    assert lacking.choices == gaps.choices
    assert {"ai_automation", "net_zero", "basic_it", "team_working"} <= set(values(gaps))
    header = builtin_interview_path().read_text(encoding="utf-8").split("\nid:")[0]
    for qid in SKILLS_QUESTIONS:
        assert qid in header
    for value in values(gaps):
        assert re.search(rf"\b{value}\b", header), f"skill value {value} is not in the header"


def test_future_needs_cover_digital_net_zero_and_leadership(builtin: Interview) -> None:
    future = builtin.question("future_skills")
    assert {"ai_automation", "net_zero", "leadership", "advanced_digital"} <= set(values(future))
    assert future.max == 3
    assert builtin.question("digital_ai_need").type == "scale"
    assert "net_zero" in values(builtin.question("upskilling_drivers"))


def test_t_levels_use_the_dfe_awareness_scale(builtin: Interview) -> None:
    assert values(builtin.question("t_levels")) == ["good", "some", "aware", "never_heard"]


def test_conditions_only_look_back(builtin: Interview) -> None:
    for question in builtin.questions:
        if question.relevant is not None:
            for name in references(question.relevant.expr):
                assert builtin.position[name] < builtin.position[question.id]


# --- version 3: the interview on a phone (issue 18) ------------------------------------------

EARLIER = Path(conversations.__file__).parent / "interviews" / "earlier"


def test_version_3_keeps_version_2_for_the_responses_begun_on_it(builtin: Interview) -> None:
    assert builtin.version == "3"
    v2 = load_interview(EARLIER / "lsip_employer.v2.yaml")
    assert (v2.id, v2.version) == (builtin.id, "2")
    # Every question id and stored value of version 2 means the same in version 3.
    for question in v2.questions:
        assert question.id in builtin.by_id
        assert set(values(question)) <= set(values(builtin.question(question.id)))


def test_the_district_question_has_a_way_out(builtin: Interview) -> None:
    labels = {c.value: c.label for c in builtin.question("district").choices}
    assert labels["outside_area"] == "Outside Cambridgeshire and Peterborough"
    assert labels["several_sites"] == "Several sites in the area"


def test_answers_that_go_alone_are_exclusive(builtin: Interview) -> None:
    exclusive = {(q.id, c.value) for q in builtin.questions for c in q.choices if c.exclusive}
    assert exclusive == {("training_barriers", "no_need")}


def test_long_skills_lists_are_grouped(builtin: Interview) -> None:
    for qid in SKILLS_QUESTIONS:
        groups = [c.group for c in builtin.question(qid).choices]
        assert None not in groups
        assert list(dict.fromkeys(groups)) == [
            "Technical and practical",
            "People and personal",
            "Digital and green",
        ]


def test_tick_box_questions_do_not_repeat_how_to_tick(builtin: Interview) -> None:
    for question in builtin.questions:
        hint = (question.hint or "").casefold()
        assert "pick all that apply" not in hint, question.id
        assert "pick up to" not in hint, question.id


def test_section_titles_fit_their_questions(builtin: Interview) -> None:
    ahead = next(s for s in builtin.sections if s.id == "future")
    assert ahead.title == "Looking ahead"
    assert "12 months" in ahead.questions[0].label
    assert all("2 to 3 years" not in s.title for s in builtin.sections)


def test_skills_bootcamps_are_not_called_free_for_employers(builtin: Interview) -> None:
    hint = builtin.question("bootcamps").hint or ""
    assert "Free courses" not in hint
    assert "10% for small and medium employers" in hint
    assert "30% for large" in hint


@pytest.mark.parametrize(
    ("qid", "words"),
    [
        ("staff_not_proficient", ("Not fully proficient means",)),
        ("training_done", ("On the job:", "Off the job:")),
        ("training_delivery", ("Day release:", "Block release:")),
        ("htf_occupations", ('"Elementary" jobs',)),
        ("t_levels", ("T Levels are", "16 to 19")),
    ],
)
def test_jargon_gets_a_plain_words_hint(builtin: Interview, qid: str, words: tuple[str]) -> None:
    hint = builtin.question(qid).hint or ""
    for word in words:
        assert word in hint
