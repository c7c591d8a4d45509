"""How many engine steps per second one core manages, walking the built-in interview.

Run: `.venv/bin/python benchmarks/bench_engine.py [--seconds 3]`. Target: 20,000 steps/s.

Two realistic scripts are recorded first (one with hard-to-fill vacancies, "Other" texts,
a typo, a Back and an edit from the review; one without vacancies, with skips), then
replayed in turn from `start()` to `Completed`, timing only the engine; then again with
each state stored and read back as the database does it (`InterviewState.to_json`, the
JSON text, `InterviewState.from_json`), the engine's share of every answer the bot takes.
"""

from __future__ import annotations

import argparse
import json
import time

from conversations.engine import InterviewEngine, Step
from conversations.events import (
    Ask,
    Back,
    Choose,
    Done,
    Edit,
    Input,
    Skip,
    Submit,
    Text,
    Toggle,
)
from conversations.loader import builtin_interview_path, load_interview
from conversations.state import InterviewState

TARGET = 20_000

HARD_TO_FILL: dict[str, list[Input]] = {
    "org_name": [Text("Fenland Fabrication Ltd")],
    "role": [Text("2")],
    "sector": [Choose("other", "sector"), Text("Marine engineering")],
    "size_band": [Choose("25-49", "size_band")],
    "vacancies": [Choose("yes", "vacancies")],
    "vacancy_count": [Text("lots"), Text("4")],
    "hard_to_fill": [Choose("yes", "hard_to_fill")],
    "htf_occupations": [Toggle("soc5"), Toggle("soc8"), Toggle("soc3"), Toggle("soc3"), Done()],
    "htf_reasons": [Toggle("few_skilled"), Toggle("other"), Done(), Text("Night shifts")],
    "applicant_skills_lacking": [Text("1,2,5")],
    "staff_not_proficient": [Choose("10-24", "staff_not_proficient")],
    "upskilling_needed": [Choose("yes", "upskilling_needed")],
    "future_skills": [Toggle("basic_digital"), Toggle("ai_automation"), Done()],
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


def usual_reply(ask: Ask) -> list[Input]:
    """A plausible answer to a question the script does not mention."""
    question = ask.question
    if ask.follow_up:
        return [Text("Something else")]
    if question.type in ("consent", "yes_no"):
        return [Choose("yes", question.id)]
    if question.type in ("select_one", "scale"):
        return [Choose(ask.options[0].value, question.id)]
    if question.type == "select_multiple":
        return [Toggle(ask.options[0].value, question.id), Done(question.id)]
    if question.type == "integer":
        return [Text("3")]
    return [Text("Some text")]


def record(engine: InterviewEngine, plan: dict[str, list[Input]], *, detour: bool) -> list[Input]:
    """The inputs of one walk from start to Completed, following `plan`."""
    inputs: list[Input] = []

    def feed(step: Step, events: list[Input]) -> Step:
        for event in events:
            inputs.append(event)
            step = engine.handle(step.state, event)
        return step

    step = engine.start()
    done_back = not detour
    while step.state.status != "review" or step.state.current is not None:
        ask = step.prompts[-1]
        assert isinstance(ask, Ask), step.prompts
        if not done_back and ask.question.id == "staff_outlook":
            step = feed(step, [Back()])
            done_back = True
            continue
        planned = plan.get(ask.question.id, []) if not ask.follow_up else []
        events = planned or usual_reply(ask)
        step = feed(step, events)
    if detour:
        step = feed(step, [Edit("staff_outlook"), Choose("increase", "staff_outlook")])
    step = feed(step, [Submit()])
    assert step.state.status == "completed"
    return inputs


def run(
    engine: InterviewEngine, scripts: list[list[Input]], seconds: float, *, stored: bool = False
) -> tuple[int, float]:
    """Replay the scripts in turn for about `seconds` of CPU time; (steps, CPU seconds).
    `stored`: each new state goes to JSON text and is read back before the next step.

    CPU time of this process, not wall time, so a busy machine does not skew the figure.
    """
    steps = 0
    began = time.process_time()
    deadline = began + seconds
    handle = engine.handle
    dumps, loads, read = json.dumps, json.loads, InterviewState.from_json
    while time.process_time() < deadline:
        for script in scripts:
            state = engine.start().state
            steps += 1
            for event in script:
                if stored:
                    state = read(loads(dumps(state.to_json())))
                state = handle(state, event).state
            steps += len(script)
    return steps, time.process_time() - began


def main() -> None:
    """Measure and print steps per second."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    engine = InterviewEngine(load_interview(builtin_interview_path()))
    scripts = [
        record(engine, HARD_TO_FILL, detour=True),
        record(engine, NO_VACANCIES, detour=False),
    ]
    run(engine, scripts, 0.3)  # warm up (expressions compile on first use)
    steps, elapsed = run(engine, scripts, args.seconds)
    rate = steps / elapsed
    lengths = ", ".join(str(len(s) + 1) for s in scripts)
    print(f"walks of {lengths} steps; {steps:,} steps in {elapsed:.2f} s of CPU time")
    verdict = "meets" if rate >= TARGET else "BELOW"
    print(f"{rate:,.0f} steps/s on one core ({verdict} the {TARGET:,} target)")
    steps, elapsed = run(engine, scripts, args.seconds, stored=True)
    print(f"{steps / elapsed:,.0f} steps/s with each state stored as JSON and read back")


if __name__ == "__main__":
    main()
