"""The playground's chat page in a real Chromium, for the browser tests.

Needs Debian's ``chromium`` (``/usr/bin/chromium``, or SKILLSBOT_CHROMIUM) and Playwright for
Python (never ``playwright install``). Without them a browser test is skipped, except under
SKILLSBOT_REQUIRE_BROWSER=1 (as on CI), where that is a failure. Screenshots go to
``artifacts/`` in the repository (gitignored; CI keeps it).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from bot.devtools.playground.people import person_named
from bot.devtools.playground.runner import Playground
from tests.e2e.conftest import wait_handled

CHROMIUM = os.environ.get("SKILLSBOT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
MAX_PAGES = 6  # a list of 27 options comes in 4 pages
# A step may build the weekly report (/weekly: seconds of CPU, and more on a loaded
# machine: a full CI run once took over 15 s); a step that passes waits no longer for it.
STEP_TIMEOUT = 60.0
ORGANISATION = "Fenland Fasteners Ltd"
TICKED = "✅"


def browser_missing(reason: str) -> None:
    """Skip, or fail under SKILLSBOT_REQUIRE_BROWSER=1."""
    if os.environ.get("SKILLSBOT_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason}, and SKILLSBOT_REQUIRE_BROWSER=1 needs it", pytrace=False)
    pytest.skip(reason)


def chromium_path() -> str:
    """The Chromium executable; skips (or fails, when required) without one or Playwright."""
    found = CHROMIUM if Path(CHROMIUM).exists() else shutil.which(CHROMIUM)
    if found is None:
        browser_missing(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        browser_missing("Playwright for Python is not installed")
    return str(found)


async def screenshot(page: Any, name: str) -> Path:
    """Save what the page shows now as ``artifacts/<name>.png``."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path))
    return path


class ChatPage:
    """One person's chat on the page of an in-process playground; every action waits until
    the bot has handled it and the page shows the result."""

    def __init__(self, page: Any, playground: Playground, key: str) -> None:
        self.page = page
        self.playground = playground
        self.fake = playground.fake
        self.key = key
        self.user_id = person_named(key).user_id

    async def open(self) -> None:
        """Switch the page to this person and wait until their chat shows."""
        if await self.page.locator("#who").input_value() != self.key:
            await self.page.select_option("#who", self.key)
        version = self.fake.world.chat_for(self.user_id).version
        await self.page.wait_for_function(
            "([key, v]) => document.getElementById('who').value === key"
            " && Number(document.getElementById('messages').dataset.version) >= v",
            arg=[self.key, version],
        )

    async def act(self, action: Any) -> None:
        """Do ``action`` (a coroutine function) and wait for the bot and the page."""
        history = self.fake.world.updates.history
        before = len(history)
        await action()
        await self.fake.wait_until(lambda: len(history) > before, timeout=STEP_TIMEOUT)
        # Telegram is told an update arrived once it is in the inbox; wait until handled.
        await wait_handled(
            self.fake, max(history), engine=self.playground.database, timeout=STEP_TIMEOUT
        )
        version = self.fake.world.chat_for(self.user_id).version
        await self.page.wait_for_function(
            "v => Number(document.getElementById('messages').dataset.version) >= v", arg=version
        )

    def latest_keyboard(self) -> Any:
        """The bot's latest message with buttons, as a locator."""
        return self.page.locator("#messages li.bot:has(.keyboard button)").last

    async def tap(self, label: str, *, exact: bool = True) -> None:
        """Click the button labelled ``label`` under the bot's latest message with buttons,
        turning the list's pages ("More…", then "« Back") until it shows."""
        keyboard = self.latest_keyboard()
        button = keyboard.get_by_role("button", name=label, exact=exact)
        for turn in ("More…", "« Back"):
            for _ in range(MAX_PAGES):
                if await button.count():
                    break
                pager = keyboard.get_by_role("button", name=turn, exact=True)
                if not await pager.count():
                    break
                await self.act(pager.first.click)
        await self.act(lambda: button.first.click())

    async def type(self, text: str) -> None:
        """Type ``text`` in the box and press Enter."""

        async def typing() -> None:
            await self.page.fill("#text", text)
            await self.page.press("#text", "Enter")

        await self.act(typing)

    async def replies_to(self, text: str) -> list[str]:
        """Send ``text``; the bot's new messages, as the page shows them (files as their
        names)."""
        bot = self.page.locator("#messages li.bot")
        before = await bot.count()
        await self.type(text)
        return [str(await bot.nth(i).inner_text()) for i in range(before, await bot.count())]

    async def last_bot_text(self) -> str:
        """The text of the bot's latest message."""
        return str(await self.page.locator("#messages li.bot .text").last.inner_text())

    async def labels(self) -> list[str]:
        """The buttons under the bot's latest message (none when it has no keyboard)."""
        last = self.page.locator("#messages li.bot").last
        return [str(label) for label in await last.locator(".keyboard button").all_inner_texts()]

    async def fresh_interview(self) -> None:
        """Erase whatever this person answered before (/forget), then start the interview
        and agree to take part: the first question after consent is on screen."""
        await self.type("/forget")
        erase = [
            label for label in await self.labels() if label.casefold().startswith(("erase", "yes"))
        ]
        if erase:
            await self.tap(erase[0])
        await self.type("/start")
        await self.tap(
            next(
                label
                for label in await self.labels()
                if "agree" in label.casefold() or label.casefold().startswith("yes")
            )
        )

    async def answer_current(self) -> None:
        """Answer what is asked now, briefly: "No" or "None" where offered (fewer follow-up
        questions), else the first option (then Done), or a typed answer."""
        labels = [
            label
            for label in await self.labels()
            if label != "Skip" and not label.startswith(("More", "Back", "‹", "›"))
        ]
        text = await self.last_bot_text()
        done = next((label for label in labels if label.startswith("Done")), None)
        brief = next((label for label in labels if label in {"No", "None"}), None)
        if done is not None:
            await self.tap(labels[0])
            await self.tap(done)
        elif brief is not None:
            await self.tap(brief)
        elif labels:
            await self.tap(labels[0])
        elif "number" in text:
            await self.type("3")
        elif "date" in text:
            await self.type("31/03/2026")
        else:
            await self.type(ORGANISATION)

    async def answer_until(self, fragment: str, limit: int = 60) -> None:
        """Answer question after question until the latest bot message contains
        ``fragment``."""
        for _ in range(limit):
            if fragment in await self.last_bot_text():
                return
            await self.answer_current()
        raise AssertionError(f"{fragment!r} was never asked in {limit} answers")

    async def answer_until_review(self, limit: int = 80) -> None:
        """Answer question after question until the review's Submit button shows."""
        for _ in range(limit):
            if "Submit" in await self.labels():
                return
            await self.answer_current()
        raise AssertionError(f"no review screen after {limit} answers")
