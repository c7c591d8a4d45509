"""The verbatim redactor against a corpus of tricky cases (tests/analytics/data/)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from analytics.verbatims import redact

CORPUS: dict[str, Any] = yaml.safe_load(
    (Path(__file__).parent / "data" / "verbatim_pii.yaml").read_text(encoding="utf-8")
)


@pytest.mark.parametrize("case", CORPUS["leaks"], ids=lambda case: case["text"][:40])
def test_personal_data_is_removed_and_the_rest_kept(case: dict[str, Any]) -> None:
    cleaned = redact(case["text"])
    for secret in case["gone"]:
        assert secret.casefold() not in cleaned.casefold(), cleaned
    for phrase in case.get("kept", []):
        assert phrase in cleaned, cleaned


@pytest.mark.parametrize("text", CORPUS["keeps"], ids=lambda text: text[:40])
def test_skills_sectors_and_figures_survive(text: str) -> None:
    assert redact(text) == text


def test_the_four_found_in_review_read_well() -> None:
    assert redact("my name is jo bloggs") == "my name is [name]"
    assert redact("ring +1 415 555 0100") == "ring [phone]"
    assert redact("jo.smith at gmail dot com or jo[at]plain.co.uk") == "[email] or [email]"


def test_only_the_review_pays_for_the_detector() -> None:
    # In a fresh interpreter: this test process has imported Presidio already.
    script = (
        "import sys, analytics.report, bot.cli.verbatims\n"
        "print(sorted(m for m in ('presidio_analyzer', 'spacy') if m in sys.modules))"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_the_detector_needs_no_network() -> None:
    # Nothing may be downloaded at run time (no spaCy model, no public suffix list).
    script = (
        "import socket\n"
        "def refuse(*args, **kwargs):\n"
        "    raise SystemExit('network used')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "from analytics.verbatims import redact\n"
        "print(redact('mail jo at fen dot com or call +44 20 7946 0958, Dr Okafor'))"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "mail [email] or call [phone], Dr [name]"
