"""Build the LSIP area table shipped in `conversations/data/lsip_districts.csv`.

The source is DfE's district-to-LSIP lookup (`lad_to_lsip.csv`, from the Local Skills
Dashboard repository). We keep only the 2025 geography: one row per local authority
district with its LSIP area, sorted by area then district name, so a diff of the shipped
table shows real changes only.

    python scripts/build_area_table.py [--source PATH] [--output PATH]
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO.parent / "shared" / "data" / "lad_to_lsip.csv"
DEFAULT_OUTPUT = REPO / "conversations" / "data" / "lsip_districts.csv"
COLUMNS = ("area", "code", "name")


def build_table(source: Path) -> str:
    """The shipped table's text, built from the DfE lookup at `source`."""
    with source.open(encoding="utf-8-sig", newline="") as handle:
        rows = [
            (row["LSIP2025_area"].strip(), row["LAD23CD"].strip(), row["LAD23NM"].strip())
            for row in csv.DictReader(handle)
        ]
    codes = [code for _, code, _ in rows]
    if len(set(codes)) != len(codes):
        raise SystemExit(f"{source}: a district code appears twice")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(sorted(rows, key=lambda row: (row[0], row[2], row[1])))
    return out.getvalue()


def main() -> None:
    """Write the table (to --output, default the package's data folder)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    table = build_table(args.source)
    args.output.write_text(table, encoding="utf-8")
    print(f"wrote {args.output} ({table.count(chr(10)) - 1} districts)")


if __name__ == "__main__":
    main()
