"""Async code in bot/ reaches the database one way: `storage.Units` (`run`, `call`,
`read`, `slow`). A thread of its own (`asyncio.to_thread`, `run_in_executor`) is allowed
only where the allow-list below says why: CPU work that is not the database's, and the
session-level advisory locks held on a connection of their own (`storage.locks`), which
span transactions and so cannot be a unit of work.

Read from the source (its syntax tree, so a docstring that names `asyncio.to_thread` is
no use of it): a new thread hop fails here until it is a unit, or listed with its reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parents[2] / "bot"
THREAD_HOPS = frozenset({"to_thread", "run_in_executor"})

# (file under bot/, enclosing function) -> why it may hand work to a thread itself.
LOCKS = "a session-level advisory lock on a connection of its own (storage.locks)"
ALLOWED: dict[tuple[str, str], str] = {
    ("core/broadcaster.py", "Broadcaster.holds_sender_lock"): LOCKS,
    ("core/broadcaster.py", "Broadcaster.shutdown"): LOCKS,
    ("runtime/scheduler.py", "FollowUpScheduler._elect"): LOCKS,
    ("runtime/app.py", "EmployerBot._poll_when_leader"): LOCKS,
    ("runtime/app.py", "EmployerBot._keep_leadership"): LOCKS,
    ("runtime/inbox_worker.py", "InboxWorkers.run"): LOCKS,
    ("runtime/inbox_worker.py", "InboxWorkers._keep_ownership"): LOCKS,
    ("core/followups.py", "FollowUps._report"): "CPU: the weekly report's pandas and charts",
    ("core/staff.py", "StaffDesk.list"): "CPU: /list's spreadsheet, after a Units.read of its rows",
    ("core/staff.py", "StaffDesk.interview_file"): "CPU: an interview definition checked",
}


def thread_hops() -> set[tuple[str, str]]:
    """Every (file, enclosing function) in bot/ that calls a thread hop or imports one."""
    found: set[tuple[str, str]] = set()
    for path in sorted(BOT.rglob("*.py")):
        name = path.relative_to(BOT).as_posix()
        _visit(ast.parse(path.read_text(encoding="utf-8")), name, [], found)
    return found


def _visit(node: ast.AST, name: str, scope: list[str], found: set[tuple[str, str]]) -> None:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            _visit(child, name, [*scope, child.name], found)
            continue
        hop = (isinstance(child, ast.Attribute) and child.attr in THREAD_HOPS) or (
            isinstance(child, ast.ImportFrom)
            and any(alias.name in THREAD_HOPS for alias in child.names)
        )
        if hop:
            found.add((name, ".".join(scope) or "<module>"))
        _visit(child, name, scope, found)


def test_async_code_reaches_the_database_only_through_units() -> None:
    hops = thread_hops()
    unexplained = sorted(hops - ALLOWED.keys())
    assert not unexplained, (
        f"threads used in bot/ outside storage.Units: {unexplained}; run the database work "
        "as a unit (Units.run/call/read/slow), or add it to ALLOWED with its reason"
    )
    stale = sorted(ALLOWED.keys() - hops)
    assert not stale, f"allowed but no longer used (take them off the list): {stale}"


def test_the_check_sees_a_thread_hop_and_not_a_docstring() -> None:
    source = (
        '"""asyncio.to_thread in a docstring is no call."""\n'
        "import asyncio\n"
        "from asyncio import to_thread\n"
        "class Desk:\n"
        "    async def read(self, database):\n"
        "        return await asyncio.to_thread(database.read)\n"
        "    async def spin(self, loop):\n"
        "        return await loop.run_in_executor(None, print)\n"
    )
    found: set[tuple[str, str]] = set()
    _visit(ast.parse(source), "desk.py", [], found)
    assert found == {
        ("desk.py", "<module>"),
        ("desk.py", "Desk.read"),
        ("desk.py", "Desk.spin"),
    }
