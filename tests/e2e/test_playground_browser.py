"""The playground in a real headless Chromium: an employer completes the interview by clicking
and typing on the chat page, another employer starts theirs, an analyst downloads the weekly
workbook, and the answers are in the database.

Needs Debian's ``chromium`` and Playwright for Python (see `tests.e2e.chat_page`). The
points of issue 18, at a phone's size, are in ``test_phone_browser.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.devtools.playground.people import person_named
from bot.devtools.playground.runner import Playground
from bot.settings import Settings
from conversations.areas import DEFAULT_AREA
from conversations.loader import builtin_interview_path, load_interview
from storage import Session, make_engine, response_records, upgrade
from storage.staff import role_of
from tests.e2e.chat_page import (
    CHROMIUM_ARGS,
    ORGANISATION,
    STEP_TIMEOUT,
    ChatPage,
    chromium_path,
    screenshot,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.each_library]


@pytest.fixture
async def playground(tmp_path: Path, e2e_library: str) -> AsyncIterator[Playground]:
    """The whole playground (fake Telegram, real bot, page) on free ports, temp SQLite, on
    the test's Telegram library."""
    engine = make_engine(f"sqlite:///{tmp_path / 'playground.db'}")
    upgrade(engine)
    interview = load_interview(builtin_interview_path(), area=DEFAULT_AREA)
    try:
        settings = Settings.model_construct(telegram_library=e2e_library)
        async with Playground(
            database=engine, interview=interview, port=0, polling_timeout=1, settings=settings
        ) as running:
            yield running
    finally:
        engine.dispose()


@pytest.fixture
def chromium() -> str:
    """The Chromium executable; skips (or fails, when required) without one or Playwright."""
    return chromium_path()


@pytest.fixture
async def page(chromium: str, playground: Playground) -> AsyncIterator[Any]:
    """A Chromium page (phone-sized) showing the playground."""
    from playwright.async_api import async_playwright

    async with async_playwright() as driver:
        browser = await driver.chromium.launch(
            executable_path=chromium, args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = await browser.new_context(
                viewport={"width": 420, "height": 860}, device_scale_factor=1
            )
            tab = await context.new_page()
            tab.set_default_timeout(STEP_TIMEOUT * 1000)
            errors: list[str] = []
            tab.on("pageerror", lambda error: errors.append(str(error)))
            await tab.goto(playground.url)
            yield tab
            assert errors == [], f"the page's script failed: {errors}"
        finally:
            await browser.close()


def _agree(labels: list[str]) -> str:
    """The consent question's "yes" button."""
    return next(
        label
        for label in labels
        if "agree" in label.casefold() or label.casefold().startswith("yes")
    )


async def test_an_employer_completes_the_interview_in_the_browser(
    page: Any, playground: Playground
) -> None:
    alex = ChatPage(page, playground, "employer-a")
    assert await page.locator("#who").input_value() == "employer-a"
    await alex.act(lambda: page.get_by_role("button", name="Start", exact=True).click())
    assert "Part 1 of" in await alex.last_bot_text()
    await alex.tap(_agree(await alex.labels()))
    await alex.answer_until_review()
    await alex.tap("Submit")
    assert "Submit" not in await alex.labels()
    assert "thank" in (await alex.last_bot_text()).casefold()
    # The chosen answers show as the bot's edited questions, the typed ones as the user's
    # bubbles; the page has no horizontal scrolling on a phone-sized window.
    assert await page.locator("#messages li.user", has_text=ORGANISATION).count() >= 1
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await screenshot(page, "playground-chat")

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
    assert _agree(await bea.labels())  # the interview's first question: consent
    assert "Part 1 of" in await bea.last_bot_text()
    assert await page.locator("#messages li.user", has_text=ORGANISATION).count() == 0
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # The analyst (their role granted by the playground) gets the weekly workbook as a
    # download link served from the fake Telegram's stored file.
    analyst_chat = ChatPage(page, playground, "analyst")
    await page.select_option("#who", "analyst")
    await page.wait_for_function("() => document.getElementById('messages').dataset.version")
    await analyst_chat.type("/weekly")
    link = page.locator("#messages li.bot a.document[download$='.xlsx']").last
    await link.wait_for()
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
