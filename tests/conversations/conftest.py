"""Small interviews built in Python, for engine tests that must not depend on YAML files."""

from __future__ import annotations

import pytest

from conversations.definition import Choice, Condition, Interview, Question, Section
from conversations.engine import InterviewEngine
from conversations.expressions import parse


def condition(source: str) -> Condition:
    """A parsed condition, as the loader would build it."""
    return Condition(source, parse(source))


def recruitment_interview(version: str = "1") -> Interview:
    """A short interview with every question type, branching, a constraint and "Other"."""
    about = Section(
        "about",
        "About your organisation",
        (
            Question("welcome", "note", "Thanks for helping with the skills plan.", "about"),
            Question("consent", "consent", "Do you agree to take part?", "about"),
            Question("org_name", "text", "What is your organisation called?", "about", max=100),
            Question(
                "sector",
                "select_one",
                "Which sector are you in?",
                "about",
                choices=(
                    Choice("manufacturing", "Manufacturing"),
                    Choice("construction", "Construction"),
                ),
                other=True,
            ),
            Question(
                "staff",
                "integer",
                "How many staff do you employ?",
                "about",
                hint="Count part-time staff too.",
                min=1,
                max=100000,
            ),
        ),
    )
    recruitment = Section(
        "recruitment",
        "Recruitment",
        (
            Question("vacancies", "yes_no", "Do you have vacancies now?", "recruitment"),
            Question(
                "vacancy_count",
                "integer",
                "How many vacancies?",
                "recruitment",
                relevant=condition("${vacancies} = 'yes'"),
                constraint=condition(". <= ${staff}"),
                constraint_message="You can't have more vacancies than staff.",
                min=1,
                max=1000,
            ),
            Question(
                "hard_to_fill",
                "yes_no",
                "Are any of them hard to fill?",
                "recruitment",
                relevant=condition("${vacancies} = 'yes'"),
            ),
            Question(
                "htf_reasons",
                "select_multiple",
                "Why are they hard to fill?",
                "recruitment",
                relevant=condition("${hard_to_fill} = 'yes'"),
                choices=(
                    Choice("skills", "Applicants lack skills"),
                    Choice("pay", "Pay"),
                    Choice("location", "Location"),
                    Choice("few", "Too few applicants"),
                ),
                max=3,
                other=True,
            ),
            Question(
                "htf_note",
                "note",
                "Thanks, that helps us see where skills are short.",
                "recruitment",
                relevant=condition("${hard_to_fill} = 'yes'"),
            ),
        ),
    )
    training = Section(
        "training",
        "Training",
        (
            Question(
                "provision",
                "scale",
                "How well does local training meet your needs?",
                "training",
                min=1,
                max=5,
                min_label="Very poorly",
                max_label="Very well",
            ),
            Question(
                "share",
                "decimal",
                "What share of staff trained last year (%)?",
                "training",
                required=False,
                min=0,
                max=100,
            ),
            Question(
                "start_date",
                "date",
                "When does your next course start?",
                "training",
                required=False,
            ),
            Question(
                "barriers",
                "select_multiple",
                "What gets in the way of training?",
                "training",
                required=False,
                choices=(
                    Choice("cost", "Cost"),
                    Choice("time", "Time away from work"),
                    Choice("none_local", "No local provider"),
                ),
            ),
            Question(
                "comments",
                "text",
                "Anything else?",
                "training",
                required=False,
                max=500,
            ),
        ),
    )
    return Interview(
        id="recruitment_test",
        title="Recruitment test",
        version=version,
        sections=(about, recruitment, training),
    )


@pytest.fixture
def interview() -> Interview:
    """The small recruitment interview."""
    return recruitment_interview()


@pytest.fixture
def engine(interview: Interview) -> InterviewEngine:
    """An engine running the small recruitment interview."""
    return InterviewEngine(interview)
