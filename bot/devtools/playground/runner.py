"""Start and stop the playground's three parts in one process.

1. the fake Telegram Bot API on 127.0.0.1 (a free port);
2. the real employer bot (``EmployerBot``, the same code ``skillsbot run`` starts), in
   webhook mode as in production: it serves a webhook on 127.0.0.1 (a free port, a secret
   made afresh for each run, `bot.runtime.webhook`) and the fake pushes each update to it, as
   Telegram does (``receive="polling"``: the bot polls the fake instead). Only the API
   URL, the token and the webhook's address differ from production;
3. the web app with the chat page, on ``host:port``.

The playground works only on a database of its own: one that is new (then it marks it as
the playground's) or that it marked before. A database a real bot has used is refused
(`PlaygroundError`), so the staff roles the playground grants its people (whose ids no
real Telegram account can have, see `bot.devtools.playground.people`) never reach it; each
grant is in the audit log. The fake Telegram numbers its updates after the highest one
the database has handled, and its messages after the highest message id the database
remembers (the question on screen), as Telegram keeps counting across restarts: so a
second run on the same database behaves like the first, instead of taking every update for
a duplicate and every button for one on an old question.

The fake Telegram listens on 127.0.0.1 too, where any web page the visitor opens can post
to it. So it serves no control API (``/_fake/``, which acts as any user unchecked: the page
drives the fake in-process instead), and its Bot API answers only a token made afresh for
each run (``run_token``), which no other site can know: the fixed ``PLAYGROUND_TOKEN`` only
stands in for TELEGRAM_BOT_TOKEN in the settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from types import TracebackType
from typing import TYPE_CHECKING, Self

from aiohttp import web
from pydantic import SecretStr

from bot.devtools.fake_telegram import FakeTelegram
from bot.devtools.playground.app import playground_app
from bot.devtools.playground.people import PEOPLE
from bot.runtime.app import EmployerBot, build_employer_bot
from bot.runtime.webhook import WebhookServer, register
from bot.settings import Settings
from conversations.definition import Interview
from storage import Session, chat_transaction, utcnow
from storage.ownership import (
    PLAYGROUND_ACTOR,
    DatabaseUse,
    engine_use,
    highest_message_id,
    highest_update_id,
    mark_as_playground,
)
from storage.staff import record_audit, role_of, set_role

if TYPE_CHECKING:  # the type only: the database itself is storage's business
    from storage import Engine

logger = logging.getLogger("skillsbot.playground")

PLAYGROUND_TOKEN = "700000001:skillsbot-playground"
PLAYGROUND_BOT_USERNAME = "skillsbot_playground_bot"
GRANTED_BY = PLAYGROUND_ACTOR
READY_TIMEOUT = 15.0
STOP_TIMEOUT = 15.0
WEBHOOK_PATH = "/telegram/webhook"
RECEIVE_MODES = ("webhook", "polling")


def run_token() -> str:
    """A bot token for one run of the playground's fake Telegram: random, so that no other
    web page can call its Bot API (and, say, take the bot's updates or write as the bot)."""
    return f"{PLAYGROUND_TOKEN.split(':', 1)[0]}:{secrets.token_urlsafe(32)}"


class PlaygroundError(Exception):
    """The playground could not start; ``str()`` is one line for people."""


IN_USE = (
    "this database holds data the playground did not create (a real bot's?); the playground "
    "only uses a database of its own: leave out --database, or name a new file"
)


def refuse_foreign_database(database: Engine) -> None:
    """Raise `PlaygroundError` unless ``database`` is new or the playground's; reads only
    (so it comes before migrating)."""
    if engine_use(database) is DatabaseUse.IN_USE:
        raise PlaygroundError(IN_USE)


def claim_database(database: Engine) -> None:
    """Make sure the (migrated) ``database`` is the playground's, new or marked by it
    before, and mark it; raise `PlaygroundError` for a database in use."""
    refuse_foreign_database(database)
    with Session(database) as session, session.begin():
        mark_as_playground(session, now=utcnow())


class Playground:
    """The fake Telegram, the real bot (on its webhook, or polling), and the chat page,
    started together.

    ``async with Playground(...) as playground:`` starts all three (``playground.url`` is
    the page's address) and stops them in reverse order on the way out.
    """

    def __init__(
        self,
        *,
        database: Engine,
        interview: Interview,
        settings: Settings | None = None,
        host: str = "127.0.0.1",
        port: int = 8080,
        polling_timeout: int = 25,
        receive: str = "webhook",
    ) -> None:
        if receive not in RECEIVE_MODES:
            raise ValueError(f"receive must be one of {RECEIVE_MODES}, not {receive!r}")
        self.receive = receive
        # The bot's settings, as `skillsbot run` reads them (the defaults when none are
        # given); the token and API URL are replaced by the fake Telegram's at start.
        self.settings = settings if settings is not None else Settings.model_construct()
        self.database = database
        self.interview = interview
        self.host = host
        self.port = port
        self.polling_timeout = polling_timeout
        self.fake = FakeTelegram(
            token=run_token(), bot_username=PLAYGROUND_BOT_USERNAME, control_api=False
        )
        self.bot: EmployerBot | None = None
        self.bot_task: asyncio.Task[None] | None = None
        self.webhook: WebhookServer | None = None
        self._web: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """The chat page's address."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    async def start(self) -> None:
        """Check the database is the playground's, grant the staff roles, start the fake
        (numbering updates and messages after those the database knows), the bot, then
        serve the page."""
        claim_database(self.database)
        self.grant_roles()
        with Session(self.database) as session:
            self.fake.world.continue_after(
                update_id=highest_update_id(session), message_id=highest_message_id(session)
            )
        await self.fake.start()
        try:
            await self._start_bot()
            await self._start_web()
        except BaseException:
            await self.stop()
            raise

    def grant_roles(self) -> None:
        """Give the playground's staff, analyst and admin people their roles (audited;
        a role they hold already is left alone)."""
        now = utcnow()
        for person in PEOPLE:
            if person.role is None:
                continue
            with chat_transaction(self.database, person.user_id) as session:
                if role_of(session, person.user_id) == person.role:
                    continue
                set_role(
                    session,
                    telegram_user_id=person.user_id,
                    role=person.role,
                    added_by=GRANTED_BY,
                    now=now,
                )
                record_audit(
                    session,
                    actor=GRANTED_BY,
                    action="role.add",
                    count=1,
                    detail=f"{person.role} for the playground's {person.key}",
                    now=now,
                )

    async def _start_bot(self) -> None:
        # The same bot as `skillsbot run` builds from the same settings (follow-up jobs,
        # reminders, report, analysts, retries), talking to the fake Telegram instead.
        bot = build_employer_bot(
            self.settings.model_copy(
                update={"token": SecretStr(self.fake.token), "api_url": self.fake.base_url}
            ),
            self.interview,
            self.database,
            polling_timeout=self.polling_timeout,
        )
        self.bot = bot
        polling = self.receive == "polling"
        if not polling:
            await self._start_webhook(bot)
        self.bot_task = asyncio.create_task(bot.run(polling=polling), name="playground-bot")
        task = self.bot_task
        if polling:
            await self.fake.wait_until(
                lambda: self.fake.polls_started > 0 or task.done(), timeout=READY_TIMEOUT
            )
        else:  # the webhook is set: updates are pushed as soon as the bot's workers run
            await asyncio.sleep(0)
        if task.done():
            error = task.exception()
            raise PlaygroundError(f"the bot stopped as it started ({type(error).__name__})")

    async def _start_webhook(self, bot: EmployerBot) -> None:
        """Serve the bot's webhook on 127.0.0.1 (a free port) and set it on the fake, with
        a secret made for this run: the fake then pushes every update to it."""
        secret = secrets.token_urlsafe(32)
        webhook = WebhookServer(
            accept=bot.accept,
            database=self.database,
            secret=secret,
            path=WEBHOOK_PATH,
            units=bot.units,
        )
        await webhook.start("127.0.0.1", 0, reuse_port=False)
        self.webhook = webhook
        await register(
            bot.account,
            url=f"http://127.0.0.1:{webhook.port}{WEBHOOK_PATH}",
            secret=secret,
            max_connections=40,
        )

    async def _start_web(self) -> None:
        page = playground_app(self.fake, host=self.host, zone=self.settings.zone)
        runner = web.AppRunner(page, access_log=None, handle_signals=False, shutdown_timeout=2.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except OSError as error:
            await runner.cleanup()
            raise PlaygroundError(
                f"cannot serve the page on {self.host}:{self.port} ({error.strerror or error}); "
                "is something else using that port? Try --port"
            ) from None
        self._web = runner
        self.port = int(runner.addresses[0][1])

    async def wait_until_bot_stops(self) -> None:
        """Return when the bot ends (it should not, unless it fails)."""
        if self.bot_task is not None:
            await asyncio.wait([self.bot_task])

    async def stop(self) -> None:
        """Stop the page, then the bot (letting updates in hand finish), then the fake."""
        if self._web is not None:
            await self._web.cleanup()
            self._web = None
        if self.bot is not None and self.bot_task is not None:
            self.bot.stop()
            try:
                await asyncio.wait_for(asyncio.shield(self.bot_task), timeout=STOP_TIMEOUT)
            except TimeoutError:
                logger.warning("event=playground_bot_stop_timeout")
                self.bot_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self.bot_task
            except Exception as error:  # the bot failed earlier; we are stopping anyway
                logger.warning("event=playground_bot_failed error=%s", type(error).__name__)
        if self.webhook is not None:
            await self.webhook.stop()
            self.webhook = None
        if self.bot is not None:
            await self.bot.close()
            self.bot = None
            self.bot_task = None
        await self.fake.stop()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
