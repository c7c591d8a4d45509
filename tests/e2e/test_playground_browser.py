"""The playground in a real headless Chromium: an employer completes the interview by clicking
and typing on the chat page, another employer starts theirs, an analyst downloads the weekly
workbook, and the answers are in the database.

Needs Debian's ``chromium`` (``/usr/bin/chromium``) and Playwright for Python (never
``playwright install``). Without them the test is skipped, except under
SKILLSBOT_REQUIRE_BROWSER=1 (as on CI), where that is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.playground.people import person_named
from bot.playground.runner import Playground
from conversations.areas import DEFAULT_AREA
from conversations.loader import builtin_interview_path, load_interview
from storage import Session, make_engine, response_records, upgrade
from storage.staff import role_of
from tests.e2e.conftest import wait_handled

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = os.environ.get("SKILLSBOT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOT = Path(__file__).resolve().parents[2] / "artifacts" / "playground-chat.png"
STEP_TIMEOUT = 15.0
ORGANISATION = "Fenland Fasteners Ltd"


def _browser_missing(reason: str) -> None:
    if os.environ.get("SKILLSBOT_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason}, and SKILLSBOT_REQUIRE_BROWSER=1 needs it", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
async def playground(tmp_path: Path) -> AsyncIterator[Playground]:
    """The whole playground (fake Telegram, real bot, page) on free ports, temp SQLite."""
    engine = make_engine(f"sqlite:///{tmp_path / 'playground.db'}")
    upgrade(engine)
    interview = load_interview(builtin_interview_path(), area=DEFAULT_AREA)
    try:
        async with Playground(database=engine, interview=interview, area=DEFAULT_AREA,
                              port=0, polling_timeout=1) as running:
            yield running
    finally:
        engine.dispose()


@pytest.fixture
def chromium() -> str:
    """The Chromium executable; skips (or fails, when required) without one or Playwright."""
    found = CHROMIUM if Path(CHROMIUM).exists() else shutil.which(CHROMIUM)
    if found is None:
        _browser_missing(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        _browser_missing("Playwright for Python is not installed")
    return str(found)


@pytest.fixture
async def page(chromium: str, playground: Playground) -> AsyncIterator[Any]:
    """A Chromium page (phone-sized) showing the playground."""
    from playwright.async_api import async_playwright

    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS,
                                               headless=True)
        try:
            context = await browser.new_context(viewport={"width": 420, "height": 860},
                                                device_scale_factor=1)
            tab = await context.new_page()
            tab.set_default_timeout(STEP_TIMEOUT * 1000)
            errors: list[str] = []
            tab.on("pageerror", lambda error: errors.append(str(error)))
            await tab.goto(playground.url)
            yield tab
            assert errors == [], f"the page's script failed: {errors}"
        finally:
            await browser.close()


class ChatPage:
    """One person's chat on the page; every action waits until the bot has handled it and
    the page shows the result."""

    def __init__(self, page: Any, playground: Playground, key: str) -> None:
        self.page = page
        self.playground = playground
        self.fake = playground.fake
        self.user_id = person_named(key).user_id

    async def act(self, action: Any) -> None:
        """Do ``action`` (a coroutine function) and wait for the bot and the page."""
        history = self.fake.world.updates.history
        before = len(history)
        await action()
        await self.fake.wait_until(lambda: len(history) > before, timeout=STEP_TIMEOUT)
        await wait_handled(
            self.fake, max(history), engine=self.playground.database, timeout=STEP_TIMEOUT
        )
        version = self.fake.world.chat_for(self.user_id).version
        await self.page.wait_for_function(
            "v => Number(document.getElementById('messages').dataset.version) >= v", arg=version)

    async def tap(self, label: str) -> None:
        """Click the button labelled ``label`` under the bot's latest message with buttons."""
        keyboard = self.page.locator("#messages li.bot:has(.keyboard button)").last
        await self.act(lambda: keyboard.get_by_role("button", name=label, exact=True).click())

    async def type(self, text: str) -> None:
        """Type ``text`` in the box and press Enter."""
        async def typing() -> None:
            await self.page.fill("#text", text)
            await self.page.press("#text", "Enter")
        await self.act(typing)

    async def last_bot_text(self) -> str:
        """The text of the bot's latest message."""
        return str(await self.page.locator("#messages li.bot .text").last.inner_text())

    async def labels(self) -> list[str]:
        """The buttons under the bot's latest message (none when it has no keyboard)."""
        last = self.page.locator("#messages li.bot").last
        return [str(label) for label in await last.locator(".keyboard button").all_inner_texts()]

    async def answer_current(self) -> None:
        """Answer what is asked now: the first option (then Done), or a typed answer."""
        labels = [label for label in await self.labels() if label != "Skip"]
        text = await self.last_bot_text()
        if "Done" in labels:
            await self.tap(labels[0])
            await self.tap("Done")
        elif labels:
            await self.tap(labels[0])
        elif "number" in text:
            await self.type("3")
        elif "date" in text:
            await self.type("31/03/2026")
        else:
            await self.type(ORGANISATION)

    async def answer_until_review(self, limit: int = 80) -> None:
        """Answer question after question until the review's Submit button shows."""
        for _ in range(limit):
            if "Submit" in await self.labels():
                return
            await self.answer_current()
        raise AssertionError("no review screen after {limit} answers")


async def test_an_employer_completes_the_interview_in_the_browser(
    page: Any, playground: Playground
) -> None:
    alex = ChatPage(page, playground, "employer-a")
    assert await page.locator("#who").input_value() == "employer-a"
    await alex.act(lambda: page.get_by_role("button", name="Start", exact=True).click())
    assert "Question 1 of" in await alex.last_bot_text()
    await alex.tap(next(label for label in await alex.labels() if "agree" in label.casefold()
                        or label.casefold().startswith("yes")))
    await alex.answer_until_review()
    await alex.tap("Submit")
    assert "Submit" not in await alex.labels()
    assert "thank" in (await alex.last_bot_text()).casefold()
    # The chosen answers show as the bot's edited questions, the typed ones as the user's
    # bubbles; the page has no horizontal scrolling on a phone-sized window.
    assert await page.locator("#messages li.user", has_text=ORGANISATION).count() >= 1
    assert await page.evaluate(
        "document.documentElement.scrollWidth <= window.innerWidth")
    SCREENSHOT.parent.mkdir(exist_ok=True)
    await page.screenshot(path=str(SCREENSHOT))

    # Another employer, on a narrow phone, starts from the command menu by keyboard alone.
    await page.set_viewport_size({"width": 360, "height": 740})
    bea = ChatPage(page, playground, "employer-b")
    await page.select_option("#who", "employer-b")
    await page.wait_for_function("() => document.getElementById('messages').dataset.version")
    assert await page.locator("#messages li").count() == 0
    await page.focus("#menu-button")
    await page.keyboard.press("Enter")
    assert await page.locator("#commands").is_visible()
    focused = await page.evaluate("document.activeElement.textContent")
    assert focused.startswith("/start")
    await bea.act(lambda: page.keyboard.press("Enter"))
    assert "Question 1 of" in await bea.last_bot_text()
    assert await page.locator("#messages li.user", has_text=ORGANISATION).count() == 0
    assert await page.evaluate(
        "document.documentElement.scrollWidth <= window.innerWidth")

    # The analyst (their role granted by the playground) gets the weekly workbook as a
    # download link served from the fake Telegram's stored file.
    analyst_chat = ChatPage(page, playground, "analyst")
    await page.select_option("#who", "analyst")
    await page.wait_for_function("() => document.getElementById('messages').dataset.version")
    await analyst_chat.type("/weekly")
    link = page.locator("#messages li.bot a.document").last
    assert (await link.get_attribute("download") or "").endswith(".xlsx")
    href = await link.get_attribute("href") or ""
    workbook = await page.request.get(playground.url.rstrip("/") + href)
    assert workbook.ok
    assert (await workbook.body())[:2] == b"PK"

    with Session(playground.database) as session:
        records = response_records(session, statuses=None)
        analyst = person_named("analyst").user_id
        staff = person_named("staff").user_id
        assert role_of(session, analyst) == "analyst"
        assert role_of(session, staff) == "staff"
    by_status = {record.status: record for record in records}
    assert sorted(by_status) == ["completed", "in_progress"]
    completed = by_status["completed"]
    assert completed.organisation == ORGANISATION
    assert completed.answers["consent"] == "yes"
    assert completed.answers["org_name"] == ORGANISATION
    assert len(completed.answers) > 15
    assert by_status["in_progress"].answers == {}
