"""Check that a built wheel holds every file of the four packages that git tracks.

A file the program reads at run time (an interview, the area table, a migration, the
playground's page) and that the wheel lacks works from a checkout and fails once
installed. Usage: python .ci/check_wheel.py WHEEL
"""

from __future__ import annotations

import subprocess
import sys
import zipfile

PACKAGES = ("bot/", "conversations/", "storage/", "analytics/")


def main(wheel: str) -> int:
    tracked = subprocess.run(
        ["git", "ls-files", "--", *PACKAGES], check=True, capture_output=True, text=True
    ).stdout.split()
    with zipfile.ZipFile(wheel) as archive:
        packed = set(archive.namelist())
    missing = sorted(path for path in tracked if path not in packed)
    for path in missing:
        print(f"missing from the wheel: {path}")
    print(f"{len(tracked) - len(missing)} of {len(tracked)} tracked package files in {wheel}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
