"""`skillsbot interview check/try/export` with XLSForms."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app

FORMS = Path(__file__).parents[1] / "conversations" / "forms"


def test_check_accepts_xlsforms_and_lists_every_problem_with_exit_1() -> None:
    runner = CliRunner()
    good = runner.invoke(app, ["interview", "check", str(FORMS / "simple.csv")])
    assert good.exit_code == 0, good.output
    assert good.output == f"{FORMS / 'simple.csv'}: ok, 3 questions in 1 section, 2 conditional\n"
    bad = runner.invoke(app, ["interview", "check", str(FORMS / "faulty.md")])
    assert bad.exit_code == 1
    assert (
        "Traceback" not in bad.output
        and bad.exception is None
        or isinstance(bad.exception, SystemExit)
    )
    lines = bad.output.splitlines()
    assert len(lines) == 7
    assert all(line.startswith(f"{FORMS / 'faulty.md'}: sheet 'survey' row ") for line in lines)


def test_try_takes_an_xlsform_in_the_terminal() -> None:
    result = CliRunner().invoke(
        app, ["interview", "try", str(FORMS / "simple.csv")], input="1\n3\nsubmit\n"
    )
    assert result.exit_code == 0, result.output
    assert '{"answers": {"hire": "yes", "vacancies": 3}}' in result.output


def test_export_writes_the_builtin_interview_as_xlsx_and_yaml(tmp_path: Path) -> None:
    from conversations.loader import builtin_interview_path, load_interview

    runner = CliRunner()
    for fmt in ("xlsx", "yaml"):
        out = tmp_path / f"lsip.{fmt}"
        result = runner.invoke(app, ["interview", "export", "--format", fmt, "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert load_interview(out) == load_interview(builtin_interview_path())
    again = tmp_path / "again.xlsx"
    result = runner.invoke(
        app, ["interview", "export", str(tmp_path / "lsip.xlsx"), "--out", str(again)]
    )
    assert result.exit_code == 0, result.output
    bad = runner.invoke(app, ["interview", "export", "--format", "pdf", "--out", "x"])
    assert bad.exit_code == 2
    two_languages = runner.invoke(
        app,
        [
            "interview",
            "export",
            str(FORMS / "every_type.md"),
            "--format",
            "yaml",
            "--out",
            str(tmp_path / "x.yaml"),
        ],
    )
    assert two_languages.exit_code == 1
    assert "export it as xlsx" in two_languages.output
