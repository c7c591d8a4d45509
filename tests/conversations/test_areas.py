"""LSIP areas and districts, and the shipped table the build script makes."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

from conversations.areas import (
    DEFAULT_AREA,
    District,
    UnknownArea,
    area_names,
    area_of_district,
    district_name,
    districts,
    resolve_area,
)

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "build_area_table.py"
SHIPPED = REPO / "conversations" / "data" / "lsip_districts.csv"


def build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_area_table", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cambridgeshire_and_peterborough_is_the_default_with_its_six_districts() -> None:
    assert DEFAULT_AREA == "Cambridgeshire and Peterborough"
    assert [d.name for d in districts(DEFAULT_AREA)] == [
        "Cambridge",
        "East Cambridgeshire",
        "Fenland",
        "Huntingdonshire",
        "Peterborough",
        "South Cambridgeshire",
    ]
    assert districts(DEFAULT_AREA)[0] == District("E07000008", "Cambridge")


def test_other_areas_from_the_domain_notes() -> None:
    assert {d.name for d in districts("The Marches")} == {
        "Herefordshire, County of",
        "Shropshire",
        "Telford and Wrekin",
    }
    assert len(districts("Norfolk and Suffolk")) == 12
    assert "King's Lynn and West Norfolk" in {d.name for d in districts("Norfolk and Suffolk")}


def test_every_area_in_england_is_there() -> None:
    names = area_names()
    assert len(names) == 42
    assert names == sorted(names)
    london = {"Central London Forward", "Local London", "South London Partnership"}
    assert london | {"West London Alliance"} <= set(names)
    assert sum(len(districts(name)) for name in names) == 296


def test_district_codes_are_lad_2023_codes_and_unique() -> None:
    codes = [d.code for name in area_names() for d in districts(name)]
    assert len(set(codes)) == len(codes)
    assert all(re.fullmatch(r"E0[6-9]\d{6}", code) for code in codes)


def test_district_lookups() -> None:
    assert district_name("E06000031") == "Peterborough"
    assert district_name("E99999999") is None
    assert area_of_district("E07000008") == DEFAULT_AREA
    assert area_of_district("nope") is None


def test_area_names_ignore_case_and_spacing() -> None:
    assert resolve_area("  the   MARCHES ") == "The Marches"
    assert districts("cambridgeshire and peterborough") == districts(DEFAULT_AREA)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "Cambridgeshire",
            "unknown LSIP area 'Cambridgeshire'; did you mean 'Cambridgeshire and Peterborough'?",
        ),
        (
            "London",
            "unknown LSIP area 'London'; did you mean 'Central London Forward' or 'Local London'"
            " or 'South London Partnership' or 'West London Alliance'?",
        ),
        ("Camberidgeshire and Peterbrough", "did you mean 'Cambridgeshire and Peterborough'?"),
        ("Atlantis", "names look like 'Cambridgeshire and Peterborough' (42 areas in all)"),
        ("", "unknown LSIP area ''"),
    ],
)
def test_unknown_areas_get_a_helpful_message(name: str, message: str) -> None:
    with pytest.raises(UnknownArea) as caught:
        districts(name)
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert caught.value.name == name


def test_the_shipped_table_is_what_the_script_builds() -> None:
    script = build_script()
    source: Path = script.DEFAULT_SOURCE
    if not source.exists():
        pytest.skip(f"the DfE lookup is not here ({source}); the shipped table cannot be rebuilt")
    assert script.build_table(source) == SHIPPED.read_text(encoding="utf-8")


def test_the_script_rejects_a_lookup_with_a_repeated_district(tmp_path: Path) -> None:
    source = tmp_path / "lookup.csv"
    source.write_text(
        "LAD23CD,LAD23NM,LSIP23CD,LSIP23NM,LSIP2025_area\n"
        "E07000008,Cambridge,E69000003,C and P,Cambridgeshire and Peterborough\n"
        "E07000008,Cambridge,E69000003,C and P,Cambridgeshire and Peterborough\n",
        encoding="utf-8",
    )
    with pytest.raises(SystemExit, match="appears twice"):
        build_script().build_table(source)


def test_the_script_sorts_by_area_then_district_name(tmp_path: Path) -> None:
    source = tmp_path / "lookup.csv"
    source.write_text(
        "LAD23CD,LAD23NM,LSIP23CD,LSIP23NM,LSIP2025_area\n"
        "E2,Zeta,X,X,Beta area\n"
        "E1,Alpha,X,X,Beta area\n"
        'E3," Gamma ",X,X,Alpha area\n',
        encoding="utf-8",
    )
    assert build_script().build_table(source) == (
        "area,code,name\nAlpha area,E3,Gamma\nBeta area,E1,Alpha\nBeta area,E2,Zeta\n"
    )
