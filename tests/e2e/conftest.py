"""End-to-end fixtures: the real bot's polling loop, in-process, against the fake Telegram.

- `fake`: a started `FakeTelegram` (real HTTP on 127.0.0.1).
- `interview`: the built-in LSIP interview.
- `running_bot`: an `EmployerBot` polling `fake` (getUpdates timeout 1 s) with the migrated
  database of the `engine` fixture (SQLite and PostgreSQL); stopped cleanly afterwards.
- `e2e_mode`: how that bot gets its updates. Every test that runs a bot in this process
  (`running_bot`, or marked `in_process_bot` to start one with `polling_bot`) runs in
  `[polling]` or `[webhook]` mode (see `pytest_generate_tests`):
  in webhook mode the bot serves a webhook (`bot.runtime.webhook`, on a free port) and the fake
  pushes the updates to it. Tests of polling itself are marked `polling_only` and run only
  polling. `SKILLSBOT_E2E_MODE=polling` (or `webhook`) runs one mode only.
- `Employer`: a person in a private chat with the bot. Each action waits until the bot has
  finished handling it (Telegram was told the update is ours, and the bot's inbox has it
  done), so no test sleeps.

Reuse them: `async def test_x(running_bot, fake): alice = Employer(fake, 1001)`.
"""

from __future__ import annotations

import asyncio
import os
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.core.render import MORE, PREVIOUS
from bot.devtools.fake_telegram import FakeTelegram, Message
from bot.devtools.fake_telegram.state import RequestRecord
from bot.runtime.app import EmployerBot
from bot.runtime.webhook import WebhookServer, register
from conversations.areas import DEFAULT_AREA
from conversations.definition import Interview
from conversations.loader import builtin_interview_path, load_interview
from storage import Engine, make_engine
from storage import inbox as inbox_store

# How long a test waits for an update to be handled: a wait, not a speed assertion (a weekly
# report takes seconds of CPU, and CI runs four workers on two cores).
HANDLED_TIMEOUT = 90.0
# How the in-process bot gets its updates: both modes, or the one SKILLSBOT_E2E_MODE names.
E2E_MODES = ("polling", "webhook")
_ONLY_MODE = os.environ.get("SKILLSBOT_E2E_MODE")
E2E_WEBHOOK_SECRET = "e2e-webhook-secret-0123456789-abcdefghij"
# The mode of the test running now in this worker (set by the `e2e_mode` fixture), and
# whether the test was given one (it uses `running_bot` or is marked `in_process_bot`).
_current_mode = "polling"
_mode_chosen = False


def _runs_a_bot(metafunc: pytest.Metafunc) -> bool:
    """Whether the test runs the bot in this process (so its mode matters): it uses the
    `running_bot` fixture, or is marked `in_process_bot` (it starts one with `polling_bot`,
    itself or through a fixture or helper of its module). `polling_bot` refuses to start in
    a test that is neither, so a test cannot run in one mode only by mistake."""
    return "running_bot" in metafunc.fixturenames or (
        metafunc.definition.get_closest_marker("in_process_bot") is not None
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Choose each end-to-end test's Telegram library and, for a bot in this process, its mode.

    A test of an in-process bot runs on both libraries (`E2E_LIBRARIES`), each in one mode:
    aiogram in the mode picked for the test (polling or webhook, half of the tests each) and
    python-telegram-bot in the other, so every test also runs in both modes. Polling-only
    tests poll on both. SKILLSBOT_E2E_MODE=both runs every library in every mode;
    SKILLSBOT_E2E_LIBRARY (or SKILLSBOT_E2E_MODE) narrows the run to one. A test marked
    `each_library` (a bot, playground or command in another process) runs once per library;
    one marked `one_library(name)` on that library alone (a long test of what the
    Telegram-free core does, whose library-specific part another test runs on both).
    """
    libraries = chosen_libraries()
    if not _runs_a_bot(metafunc) or "e2e_mode" not in metafunc.fixturenames:
        one = metafunc.definition.get_closest_marker("one_library")
        if one is not None:
            (library,) = one.args
            if library not in E2E_LIBRARIES:
                raise pytest.UsageError(
                    f"one_library names {library!r}, not one of {E2E_LIBRARIES}"
                )
            skip = pytest.mark.skip(
                reason=f"runs on {library} only; SKILLSBOT_E2E_LIBRARY={_ONLY_LIBRARY}"
            )
            marks = () if library in libraries else (skip,)
            metafunc.parametrize("e2e_library", [pytest.param(library, marks=marks)], indirect=True)
        elif metafunc.definition.get_closest_marker("each_library") is not None:
            metafunc.parametrize("e2e_library", libraries, indirect=True)
        return
    if metafunc.definition.get_closest_marker("one_library") is not None:
        raise pytest.UsageError(
            f"{metafunc.definition.nodeid}: one_library is for a bot in another process; "
            "a bot in this process runs on both libraries"
        )
    polling_only = metafunc.definition.get_closest_marker("polling_only") is not None
    if polling_only:
        if _ONLY_MODE == "webhook":
            metafunc.parametrize(
                "e2e_mode",
                [
                    pytest.param(
                        "webhook",
                        marks=pytest.mark.skip(reason="tests polling; SKILLSBOT_E2E_MODE=webhook"),
                    )
                ],
                indirect=True,
            )
            return
        pairs = [(library, "polling") for library in libraries]
    elif _ONLY_MODE in E2E_MODES:
        pairs = [(library, _ONLY_MODE) for library in libraries]
    elif _ONLY_MODE == "both":
        pairs = [(library, mode) for library in libraries for mode in E2E_MODES]
    else:
        # A stable pick by the test's id: aiogram in one mode, PTB in the other.
        first = zlib.crc32(metafunc.definition.nodeid.encode()) % 2
        pairs = [
            (library, E2E_MODES[(first + E2E_LIBRARIES.index(library)) % 2])
            for library in libraries
        ]
    metafunc.parametrize(("e2e_library", "e2e_mode"), pairs, indirect=True)


@pytest.fixture(autouse=True)
def e2e_mode(request: pytest.FixtureRequest) -> Iterator[str]:
    """How a bot started in this test gets its updates ("polling" or "webhook")."""
    global _current_mode, _mode_chosen
    mode = str(getattr(request, "param", "polling"))
    if mode not in E2E_MODES:
        raise pytest.UsageError(f"SKILLSBOT_E2E_MODE must be one of {E2E_MODES}, not {mode!r}")
    _current_mode = mode
    _mode_chosen = hasattr(request, "param")
    try:
        yield mode
    finally:
        _current_mode = "polling"
        _mode_chosen = False


# The Telegram libraries the end-to-end tests run on: both, or the one
# SKILLSBOT_E2E_LIBRARY names ("aiogram" or "ptb").
E2E_LIBRARIES = ("aiogram", "ptb")
_ONLY_LIBRARY = os.environ.get("SKILLSBOT_E2E_LIBRARY")
# The library of the test running now in this worker (set by the `e2e_library` fixture).
_current_library = "aiogram"


def chosen_libraries() -> list[str]:
    """The libraries this run tests: both, unless SKILLSBOT_E2E_LIBRARY names one."""
    if _ONLY_LIBRARY is None:
        return list(E2E_LIBRARIES)
    if _ONLY_LIBRARY not in E2E_LIBRARIES:
        raise pytest.UsageError(
            f"SKILLSBOT_E2E_LIBRARY must be one of {E2E_LIBRARIES}, not {_ONLY_LIBRARY!r}"
        )
    return [_ONLY_LIBRARY]


def current_library() -> str:
    """The Telegram library of the test running now ("aiogram" or "ptb")."""
    return _current_library


@pytest.fixture(autouse=True)
def e2e_library(request: pytest.FixtureRequest) -> Iterator[str]:
    """The Telegram library a bot started in this test (in this process or another) uses."""
    global _current_library
    library = str(getattr(request, "param", "aiogram"))
    _current_library = library
    try:
        yield library
    finally:
        _current_library = "aiogram"


DATABASES = ("sqlite", "postgres")
# The ids the library, mode and database parameters give a test's node id.
_RUN_IDS = frozenset(E2E_LIBRARIES) | frozenset(E2E_MODES) | frozenset(DATABASES)


def _on_other_database(item: pytest.Item) -> str:
    """The node id of the same test on the other database (its database id swapped)."""
    name, _, rest = item.nodeid.partition("[")
    parameters, _, group = rest.rpartition("]")  # group: xdist's "@name" suffix, if any
    swap = {"sqlite": "postgres", "postgres": "sqlite"}
    ids = [swap.get(part, part) for part in parameters.split("-")]
    return f"{name}[{'-'.join(ids)}]{group}"


def _database_for(item: pytest.Item, library: str) -> str:
    """The database `library` runs this test on when it has both: aiogram on one, picked by
    the test's id (its library, mode and database ids left out, so that both libraries pick
    from the same id), python-telegram-bot on the other."""
    name, _, rest = item.nodeid.partition("[")
    parameters = rest.rpartition("]")[0]
    case = "-".join(part for part in parameters.split("-") if part not in _RUN_IDS)
    first = zlib.crc32(f"{name}[{case}]|database".encode()) % 2
    return DATABASES[(first + E2E_LIBRARIES.index(library)) % 2]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test that has both databases runs each library on one of them (aiogram on the one
    picked for the test, python-telegram-bot on the other), so that every such test still
    runs on both databases and both libraries, each library meets both databases across
    the suite, and no test runs three times."""
    collected = {item.nodeid for item in items}
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        parameters = callspec.params if callspec is not None else {}
        library = parameters.get("e2e_library")
        database = parameters.get("database_url")
        if (
            library in E2E_LIBRARIES
            and database in DATABASES
            and item.get_closest_marker("one_library") is None  # no other library to pair
            and _on_other_database(item) in collected
            and database != _database_for(item, str(library))
        ):
            dropped.append(item)
            continue
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def library_of(call: RequestRecord) -> str:
    """The library that made a Bot API call, from its User-Agent (PTB names itself;
    aiogram's is aiohttp's)."""
    if "python-telegram-bot" in call.client:
        return "ptb"
    return "aiogram" if "aiohttp" in call.client else call.client


# The database of the bot polling each fake (by id), and the bot when it runs in this
# process, for `Employer.wait_handled`.
_INBOXES: dict[int, tuple[Engine, EmployerBot | None]] = {}


@contextmanager
def inbox_of(fake: FakeTelegram, url_or_engine: str | Engine) -> Iterator[Engine]:
    """Within the block, `Employer`s of `fake` wait for their updates in this database's
    inbox (for a bot running in another process); yields the engine."""
    engine = make_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    _INBOXES[id(fake)] = (engine, None)
    try:
        yield engine
    finally:
        _INBOXES.pop(id(fake), None)
        if isinstance(url_or_engine, str):
            engine.dispose()


async def wait_handled(
    fake: FakeTelegram,
    update_id: int,
    engine: Engine | None = None,
    timeout: float = HANDLED_TIMEOUT,  # noqa: ASYNC109
) -> None:
    """Wait until the bot has finished with an update: confirmed to Telegram, and done (or
    set aside) in the inbox of `engine` (default: that of the bot polling `fake`). The
    inbox is looked at whenever the bot in this process settles an update, else every few
    milliseconds (the fake does not see it change)."""
    await fake.wait_until(lambda: fake.acknowledged_offset > update_id, timeout=timeout)
    database, bot = _INBOXES.get(id(fake), (engine, None))
    if database is None:
        return
    async with asyncio.timeout(timeout):
        while not inbox_store.handled(database, update_id):
            if bot is None:
                await asyncio.sleep(0.005)
            else:
                await bot.inbox.progress(0.5)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    """A started fake Telegram Bot API server."""
    async with FakeTelegram() as server:
        yield server


@pytest.fixture(scope="session")
def interview() -> Interview:
    """The built-in LSIP employer interview."""
    return load_interview(builtin_interview_path(), area=DEFAULT_AREA)


@asynccontextmanager
async def polling_bot(
    fake: FakeTelegram, engine: Engine, interview: Interview, **options: Any
) -> AsyncIterator[EmployerBot]:
    """An EmployerBot polling `fake` (a fresh start, or a restart); stopped and closed after.

    `options` go to EmployerBot (e.g. `broadcast_rate`). It is ready once it has started a
    new long poll, which also holds after a restart, when the commands are already set.
    In the test's webhook mode (`e2e_mode`) it serves a webhook instead, ready once set.
    """
    if not _mode_chosen:
        raise RuntimeError(
            "this test starts a bot in this process: use the running_bot fixture or mark "
            "it @pytest.mark.in_process_bot, so that it runs in polling and webhook mode"
        )
    bot = EmployerBot(
        token=fake.token,
        api_url=fake.base_url,
        database=engine,
        interview=interview,
        area=DEFAULT_AREA,
        polling_timeout=1,
        **{"library": _current_library, "zone": ZoneInfo("Europe/London"), **options},
    )
    webhook: WebhookServer | None = None
    if _current_mode == "webhook":
        webhook = WebhookServer(
            accept=bot.accept, database=engine, secret=E2E_WEBHOOK_SECRET, path="/hook"
        )
        await webhook.start("127.0.0.1", 0, reuse_port=False)
        await register(
            bot.account,
            url=f"http://127.0.0.1:{webhook.port}/hook",
            secret=E2E_WEBHOOK_SECRET,
            max_connections=40,
        )
    polls = fake.polls_started
    calls_before = len(fake.requests)
    _INBOXES[id(fake)] = (engine, bot)
    task = asyncio.create_task(bot.run(polling=webhook is None))
    if webhook is None:
        await fake.wait_until(lambda: fake.polls_started > polls or task.done(), timeout=15)
    try:
        yield bot
    finally:
        bot.stop()
        try:
            await asyncio.wait_for(task, timeout=15)
        finally:
            if webhook is not None:
                await webhook.stop()
            await bot.close()
            _INBOXES.pop(id(fake), None)
    # Every Bot API call of the bot (updates, webhook, menus, replies, broadcasts) was made
    # with the library chosen: with PTB, aiogram's Bot is never used.
    library = bot.library
    strays = {r.method for r in fake.requests[calls_before:] if library_of(r) != library}
    assert not strays, f"Bot API calls not made with {library}: {sorted(strays)}"


@pytest.fixture
async def running_bot(
    fake: FakeTelegram, engine: Engine, interview: Interview
) -> AsyncIterator[EmployerBot]:
    """The employer bot polling `fake` in this process; stopped and closed afterwards."""
    async with polling_bot(fake, engine, interview) as bot:
        yield bot


class Employer:
    """A person talking to the bot through the fake Telegram; every action waits for the bot."""

    def __init__(self, fake: FakeTelegram, user_id: int) -> None:
        self.fake = fake
        self.user_id = user_id

    # -- acting ----------------------------------------------------------------------------

    async def send(self, text: str) -> None:
        """Type and send `text`; return once the bot has handled it."""
        await self._handled(self.fake.send_text(self.user_id, text))

    async def tap(self, label: str, message: Message | None = None) -> None:
        """Press the button labelled `label` on `message` (default: the latest with buttons),
        turning the pages of a long list ("« Back", "More…") until it shows, as a person
        would."""
        target = await self.page_to(label, message or self.buttons_message())
        await self.press_data(target.button(label), target)

    async def page_to(self, label: str, message: Message) -> Message:
        """`message` as it is once turned to the page with the button `label`: back to
        the first page, then forward (every turn is a press, answered by the bot)."""
        message = self.now(message)
        for turn in (PREVIOUS, MORE):
            while not _has_button(message, label) and turn in self.labels(message):
                await self.press_data(message.button(turn), message)
                message = self.now(message)
        return message

    async def tap_each(self, labels: list[str]) -> None:
        """Tick each of these options of the question on screen, page by page."""
        for label in labels:
            await self.tap(label)

    async def press_data(self, data: str, message: Message | None = None) -> None:
        """Press a button with this callback data (forged data too)."""
        target = message or self.buttons_message()
        await self._handled(self.fake.press(self.user_id, target.message_id, data))

    async def do(self, action: Callable[[FakeTelegram, int], Awaitable[int]]) -> None:
        """Any other user action, e.g. `lambda fake, uid: fake.send_sticker(uid)`."""
        await self._handled(action(self.fake, self.user_id))

    async def _handled(self, posted: Awaitable[int]) -> None:
        update_id = await posted
        await self.wait_handled(update_id)

    async def wait_handled(self, update_id: int) -> None:
        """Wait until the bot has finished with an update (see the module's `wait_handled`)."""
        await wait_handled(self.fake, update_id)

    async def answer_current(self, *, text: str = "Acme Widgets Ltd", number: str = "1") -> None:
        """Answer whatever is asked now: the first option, or a typed reply that fits."""
        message = self.last()
        labels = (
            [label for label in self.labels(message) if label not in ("Skip", MORE, PREVIOUS)]
            if message.buttons()
            else []
        )
        if "Done" in labels:
            await self.tap(labels[0], message)
            await self.tap("Done")
        elif labels:
            await self.tap(labels[0], message)
        elif "whole number" in (message.text or "") or "a number" in (message.text or ""):
            await self.send(number)
        elif "date" in (message.text or ""):
            await self.send("31/03/2026")
        else:
            await self.send(text)

    async def answer_until_review(self, *, limit: int = 80) -> None:
        """Answer question after question until the review screen (with Submit) shows."""
        for _ in range(limit):
            last = self.last()
            if last.buttons() and "Submit" in self.labels(last):
                return
            await self.answer_current()
        raise AssertionError(f"no review after {limit} answers:\n{self.transcript()}")

    # -- reading -----------------------------------------------------------------------------

    def messages(self) -> list[Message]:
        """The bot's messages, in order."""
        return self.fake.bot_messages(self.user_id)

    def last(self) -> Message:
        """The bot's latest message."""
        message = self.fake.last_bot_message(self.user_id)
        assert message is not None, "the bot has said nothing"
        return message

    def now(self, message: Message) -> Message:
        """The message as it is now (edited since, perhaps)."""
        for current in self.messages():
            if current.message_id == message.message_id:
                return current
        raise AssertionError(f"message {message.message_id} is gone:\n{self.transcript()}")

    def buttons_message(self) -> Message:
        """The bot's latest message that has inline buttons."""
        for message in reversed(self.messages()):
            if message.buttons():
                return message
        raise AssertionError(f"no bot message with buttons:\n{self.transcript()}")

    def question(self) -> Message:
        """The latest message asking a question ("Part N of M: …")."""
        for message in reversed(self.messages()):
            if (message.text or "").startswith("Part ") and " of " in (message.text or ""):
                return message
        raise AssertionError(f"no question asked:\n{self.transcript()}")

    def labels(self, message: Message | None = None) -> list[str]:
        """The button labels of a message (default: the latest with buttons)."""
        target = message or self.buttons_message()
        return [label for row in target.buttons() for label, _ in row]

    def transcript(self) -> str:
        """The chat as readable lines (for failure messages)."""
        return self.fake.transcript(self.user_id)


def _has_button(message: Message, label: str) -> bool:
    try:
        message.button(label)
    except LookupError:
        return False
    return True


def refuse_inserts(engine: Engine, table: str, *, when: str = "TRUE") -> None:
    """A fault of ours, standing in for a bug: the database refuses new rows of `table`
    (those for which the SQL condition `when` on NEW holds) until `allow_inserts`."""
    if engine.dialect.name == "postgresql":
        statements = [
            "CREATE OR REPLACE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql"
            " AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$",
            f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} FOR EACH ROW"
            f" WHEN ({when}) EXECUTE FUNCTION refuse()",
        ]
    else:
        statements = [
            f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} WHEN {when}"
            " BEGIN SELECT RAISE(ABORT, 'refused'); END"
        ]
    with engine.begin() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)


def allow_inserts(engine: Engine, table: str) -> None:
    """Undo `refuse_inserts`: the fault has passed."""
    on_table = f" ON {table}" if engine.dialect.name == "postgresql" else ""
    with engine.begin() as connection:
        connection.exec_driver_sql(f"DROP TRIGGER refuse_{table}{on_table}")


def refuse_updates(engine: Engine, table: str) -> None:
    """A fault standing in for a process that stops short: the database refuses every
    UPDATE of `table` until `allow_updates`."""
    if engine.dialect.name == "postgresql":
        statements = [
            "CREATE OR REPLACE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql"
            " AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$",
            f"CREATE TRIGGER refuse_update_{table} BEFORE UPDATE ON {table} FOR EACH ROW"
            " EXECUTE FUNCTION refuse()",
        ]
    else:
        statements = [
            f"CREATE TRIGGER refuse_update_{table} BEFORE UPDATE ON {table}"
            " BEGIN SELECT RAISE(ABORT, 'refused'); END"
        ]
    with engine.begin() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)


def allow_updates(engine: Engine, table: str) -> None:
    """Undo `refuse_updates`."""
    on_table = f" ON {table}" if engine.dialect.name == "postgresql" else ""
    with engine.begin() as connection:
        connection.exec_driver_sql(f"DROP TRIGGER refuse_update_{table}{on_table}")
