"""XLSForms that cannot be used: every problem in one go, in the one format, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from conversations.loader import DefinitionError, load_definition_bytes

# pyxform stops at the first of these; the loader names every one.
MANY = b"""survey,,,,
,type,name,label,relevant
,text,q1,Q1,
,select_one nolist,q4,Q4,
,select_one missing,q9,Q9,
,text,q5,Q5,${nosuch} = 'a'
,text,q6,Q6,${q1_other} = 'a'
,integer,q1,Again,
choices,,,,
,list_name,name,label,
,yes,y,Yes,
settings,,,,
,form_id,version,,
,many,1,,
"""


def _problems(raw: bytes, name: str) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        load_definition_bytes(raw, path=name)
    return [str(p) for p in caught.value.problems]


def test_every_problem_pyxform_would_stop_at_is_listed_at_once() -> None:
    assert _problems(MANY, "many.csv") == [
        "many.csv: sheet 'survey' row 3: question 'q4': "
        "choice list 'nolist' is not on the 'choices' sheet",
        "many.csv: sheet 'survey' row 4: question 'q9': "
        "choice list 'missing' is not on the 'choices' sheet",
        "many.csv: sheet 'survey' row 5: question 'q5': relevant: "
        "refers to unknown question 'nosuch'",
        "many.csv: sheet 'survey' row 6: question 'q6': relevant: "
        "refers to unknown question 'q1_other'",
        "many.csv: sheet 'survey' row 7: question 'q1': name 'q1' is also used on row 2",
    ]


@pytest.mark.parametrize(
    ("raw", "name", "says"),
    [
        (b"", "empty.xlsx", "empty.xlsx: is empty; an XLSForm needs a 'survey' sheet"),
        (b"   \n", "blank.csv", "blank.csv: is empty; an XLSForm needs a 'survey' sheet"),
        (MANY, "renamed.xlsx", "renamed.xlsx: is not an Excel workbook (.xlsx)"),
        (b"PK\x03\x04broken", "broken.xlsx", "broken.xlsx: cannot read the XLSForm"),
        (b"hello", "renamed.xls", "renamed.xls: is not an Excel 97-2003 workbook (.xls)"),
        # A CSV without the sheet names in its first column: pyxform raised a TypeError.
        (b"type,name,label\ntext,a,A\n", "plain.csv", "plain.csv: cannot read the XLSForm: "),
    ],
)
def test_a_broken_file_is_one_clear_problem(raw: bytes, name: str, says: str) -> None:
    (problem,) = _problems(raw, name)
    assert problem.startswith(says)


def test_check_reports_a_plain_csv_without_a_traceback(tmp_path: Path) -> None:
    plain = tmp_path / "plain.csv"
    plain.write_text("type,name,label\ntext,a,A\n")
    result = CliRunner().invoke(app, ["interview", "check", str(plain)])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert result.output.startswith(f"{plain}: cannot read the XLSForm: ")
    assert "first column" in result.output


KOBO = b"""survey,,,,
,type,name,label,required
,start,start,,
,end,end,,
,today,today,,
,deviceid,deviceid,,
,username,username,,
,begin group,grp,Group,
,select_one yn or_other,hire,Are you hiring?,TRUE()
,end group,,,
choices,,,,
,list name,name,label,
,yn,yes,Yes,
,yn,no,No,
settings,,,,
,form_id,version,,
,kobo_meta,1,,
"""


def test_the_metadata_rows_kobotoolbox_adds_are_skipped_not_refused() -> None:
    """KoboToolbox's form builder adds start and end to every form; nothing to ask."""
    interview = load_definition_bytes(KOBO, path="kobo.csv")
    assert [(q.id, q.type, q.other) for q in interview.questions] == [("hire", "select_one", True)]
    audited = KOBO.replace(b",end group,,,", b",end group,,,\n,audit,audit,,")
    (problem,) = _problems(audited, "kobo.csv")
    assert problem.startswith("kobo.csv: sheet 'survey' row 10: question 'audit': type 'audit'")
