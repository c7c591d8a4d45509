"""Issue 18 in a real headless Chromium at a phone's size (390×844): the playground's page,
the employer's interview and the staff side, each point a small test.

One browser and one playground (fake Telegram, the real bot, the page, a SQLite file) serve
the whole module; each test opens a fresh tab. The restart test runs the real commands
instead: `skillsbot run` without a token, then `skillsbot playground`, on one database.
Screenshots go to ``artifacts/phone-*.png`` (CI keeps them).

"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.devtools.playground.runner import Playground
from bot.settings import Settings
from conversations.areas import DEFAULT_AREA
from conversations.definition import Interview
from conversations.loader import builtin_interview_path, load_interview
from storage import Session, make_engine, response_records, upgrade
from tests.e2e.chat_page import (
    CHROMIUM_ARGS,
    ORGANISATION,
    STEP_TIMEOUT,
    TICKED,
    ChatPage,
    chromium_path,
    screenshot,
)
from tests.e2e.conftest import chosen_libraries
from tests.ports import free_port

# One worker runs each library's tests of this file: its playground (two runs of it, each a
# process on the library) starts once, not once on every xdist worker that takes a test.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.xdist_group("phone_browser"),
]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
SKILLSBOT = str(Path(sys.executable).with_name("skillsbot"))
NOTICE_TIMEOUT = 5_000  # ms: a notice shows at once, or not at all
AGREE = re.compile("agree", re.IGNORECASE)  # the consent question's button


@pytest.fixture(scope="module")
def interview() -> Interview:
    """The built-in interview, whose questions the tests look for by their wording."""
    return load_interview(builtin_interview_path(), area=DEFAULT_AREA)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Any]:
    """One headless Chromium for the module."""
    executable = chromium_path()
    from playwright.async_api import async_playwright

    async with async_playwright() as driver:
        launched = await driver.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture(
    scope="module",
    # each library's playground on a worker of its own (and built once there)
    params=[pytest.param(name, marks=pytest.mark.xdist_group(name)) for name in chosen_libraries()],
)
def library(request: pytest.FixtureRequest) -> str:
    """The Telegram library both runs of the module's playground use (each in turn)."""
    return str(request.param)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def playground(
    tmp_path_factory: pytest.TempPathFactory, browser: Any, interview: Interview, library: str
) -> AsyncIterator[Playground]:
    """The whole playground on free ports, for the module: the SECOND run on its database.

    The first is the real `skillsbot run` without a token, in which employer A begins the
    interview (agrees, names the organisation) in the browser; `Playground` then starts on
    the database it left (``./skillsbot-playground.db``), as `skillsbot playground` does.
    """
    folder = tmp_path_factory.mktemp("phone")
    await _first_run(browser, folder, interview, library)
    engine = make_engine(f"sqlite:///{folder / 'skillsbot-playground.db'}")
    upgrade(engine)
    try:
        settings = Settings.model_construct(telegram_library=library)
        async with Playground(
            database=engine, interview=interview, port=0, polling_timeout=1, settings=settings
        ) as running:
            yield running
    finally:
        engine.dispose()


async def _first_run(browser: Any, folder: Path, interview: Interview, library: str) -> None:
    port = free_port()
    process = await _start_command(["run"], folder, port, library)
    try:
        tab = await _open_tab(browser, f"http://127.0.0.1:{port}/#employer-a")
        page = tab.page
        await page.get_by_role("button", name="Start", exact=True).click()
        await _wait_for_keyboard_with(page, AGREE)
        await page.locator("#messages li.bot").last.get_by_role("button", name=AGREE).first.click()
        await _wait_for_bot_text(page, interview.question("org_name").label)
        await page.fill("#text", ORGANISATION)
        await page.press("#text", "Enter")
        await _wait_for_keyboard_with(page, interview.question("role").choices[0].label)
        assert tab.errors == []
        await page.context.close()
    finally:
        await _stop_command(process)


class Tab:
    """A fresh tab at a phone's size; it notes script errors and failed requests."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        self.failed: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on(
            "response",
            lambda response: (
                response.status >= 400 and self.failed.append(f"{response.status} {response.url}")
            ),
        )


async def _open_tab(browser: Any, url: str, viewport: dict[str, int] = PHONE) -> Tab:
    context = await browser.new_context(
        viewport=viewport,
        device_scale_factor=1,
        is_mobile=viewport is PHONE,
        has_touch=viewport is PHONE,
    )
    page = await context.new_page()
    page.set_default_timeout(STEP_TIMEOUT * 1000)
    tab = Tab(page)
    await page.goto(url)
    await page.wait_for_function("() => document.getElementById('messages').dataset.version")
    return tab


@pytest_asyncio.fixture(loop_scope="module")
async def tab(browser: Any, playground: Playground) -> AsyncIterator[Tab]:
    """A new tab on the module's playground, checked for script errors afterwards."""
    opened = await _open_tab(browser, playground.url)
    try:
        yield opened
    finally:
        await opened.page.context.close()
    assert opened.errors == [], f"the page's script failed: {opened.errors}"


def _page(tab: Tab) -> Any:
    return tab.page


async def _fits_the_screen(page: Any) -> None:
    """No sideways scrolling, and every button of the latest keyboard within the width."""
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    widest = await page.evaluate(
        "Math.max(0, ...[...document.querySelectorAll('#messages li:last-child .key')]"
        ".map(k => k.getBoundingClientRect().right))"
    )
    assert widest <= PHONE["width"]
    overflowing = await page.evaluate(
        "[...document.querySelectorAll('#messages li:last-child .key')]"
        ".filter(k => k.scrollWidth > k.clientWidth + 1).map(k => k.textContent)"
    )
    assert overflowing == []  # long labels wrap inside their buttons


async def _in_view(page: Any, locator: Any) -> bool:
    """Whether ``locator``'s top is inside the chat's visible area."""
    box = await locator.bounding_box()
    chat = await page.locator("#messages").bounding_box()
    return bool(box and chat and chat["y"] - 1 <= box["y"] <= chat["y"] + chat["height"] - 20)


def _question(interview: Interview, question_id: str) -> Any:
    return interview.question(question_id)


# -- the playground itself ------------------------------------------------------------------


async def _start_command(
    arguments: list[str], folder: Path, port: int, library: str = "aiogram"
) -> Any:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "SKILLSBOT_", "DATABASE_URL"))
    }
    environment["SKILLSBOT_PLAYGROUND_PORT"] = str(port)
    environment["SKILLSBOT_TELEGRAM_LIBRARY"] = library
    process = await asyncio.create_subprocess_exec(
        SKILLSBOT,
        *arguments,
        cwd=folder,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    while True:
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=180)).decode()
        if not line:
            _, err = await process.communicate()
            raise AssertionError(f"{arguments} ended early: {err.decode()[-2000:]}")
        if "Ctrl+C" in line:
            return process


async def _stop_command(process: Any) -> None:
    process.send_signal(signal.SIGINT)
    _, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, err.decode()[-2000:]
    assert "Traceback" not in err.decode()


async def _wait_for_keyboard_with(page: Any, label: str | re.Pattern[str]) -> None:
    """Wait until the bot's latest message carries a button labelled ``label``."""
    await (
        page.locator("#messages li.bot")
        .last.get_by_role("button", name=label, exact=isinstance(label, str))
        .first.wait_for()
    )


async def _wait_for_bot_text(page: Any, fragment: str) -> None:
    await page.wait_for_function(
        "f => { const last = [...document.querySelectorAll('#messages li.bot')].pop();"
        " return last && last.textContent.includes(f); }",
        arg=fragment,
    )


async def test_a_second_run_on_the_same_database_works_from_start(
    tab: Tab, playground: Playground, interview: Interview
) -> None:
    """The module's playground is the second run on its database (see `playground`): /start
    takes up employer A's interview where the first run left it, and its buttons work."""
    page = tab.page
    role = interview.question("role")
    await ChatPage(page, playground, "employer-a").open()
    await page.get_by_role("button", name="Start", exact=True).click()
    await _wait_for_keyboard_with(page, role.choices[0].label)
    await (
        page.locator("#messages li.bot")
        .last.get_by_role("button", name=role.choices[0].label, exact=True)
        .click()
    )
    await _wait_for_keyboard_with(page, interview.question("sector").choices[1].label)
    assert await page.locator("#toast").is_hidden()  # no "that question has moved on"
    await screenshot(page, "phone-second-run")
    with Session(playground.database) as session:
        records = response_records(session, statuses=None)
    assert [sorted(record.answers) for record in records] == [["consent", "org_name", "role"]]
    assert records[0].organisation == ORGANISATION


async def test_the_page_has_an_icon_and_nothing_it_asks_for_is_missing(
    tab: Tab, playground: Playground
) -> None:
    page = tab.page
    icon = await page.request.get(playground.url + "favicon.ico")
    assert icon.ok
    assert icon.headers["content-type"].startswith("image/")
    linked = await page.locator("link[rel=icon]").get_attribute("href")
    assert (await page.request.get(playground.url.rstrip("/") + linked)).ok
    await page.reload()
    await page.wait_for_function("() => document.getElementById('messages').dataset.version")
    assert tab.failed == []


async def test_a_notice_shows_when_an_old_keyboard_is_tapped(
    tab: Tab, playground: Playground, interview: Interview
) -> None:
    """Old keyboards stay tappable, as in Telegram, and the bot's pop-up notice shows: a
    double tap answers the question, and the second tap, on a question that has moved on,
    gets the bot's notice as a toast, which fades."""
    page = tab.page
    chris = ChatPage(page, playground, "employer-c")
    await chris.open()
    await chris.fresh_interview()
    await chris.answer_until(_question(interview, "role").label)
    first = chris.latest_keyboard().locator(".keyboard button").first
    handled = len(playground.fake.callback_answers)
    await first.evaluate("button => { button.click(); button.click(); }")
    await playground.fake.wait_until(
        lambda: len(playground.fake.callback_answers) >= handled + 2, timeout=STEP_TIMEOUT
    )
    notice = playground.fake.callback_answers[-1].text
    assert notice  # the bot said why the second tap did nothing
    toast = page.locator("#toast")
    await toast.wait_for(state="visible", timeout=NOTICE_TIMEOUT)
    assert await toast.inner_text() == notice
    await screenshot(page, "phone-notice")
    await toast.wait_for(state="hidden", timeout=8_000)  # it fades by itself


async def test_an_alert_shows_until_dismissed(tab: Tab, playground: Playground) -> None:
    """answerCallbackQuery with show_alert: a dialog the person dismisses."""
    page = tab.page
    alex = ChatPage(page, playground, "employer-a")
    await alex.open()
    if not playground.fake.bot_messages(alex.user_id):
        await alex.type("/start")
    fake = playground.fake
    message = fake.bot_messages(alex.user_id)[-1]
    # A press on that message, known to the fake but kept from the bot, answered by a Bot
    # API call as the bot would make it (the bot itself raises alerts in h-botux).
    fake.world.open_callbacks["alert-1"] = (alex.user_id, message.message_id)
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
    async with Bot(fake.token, session=session) as bot:
        assert await bot.answer_callback_query(
            "alert-1", text="You can pick up to 3.", show_alert=True
        )
    dialog = page.locator("#alert")
    await dialog.wait_for(state="visible", timeout=NOTICE_TIMEOUT)
    assert "pick up to 3" in await dialog.inner_text()
    await screenshot(page, "phone-alert")
    await dialog.get_by_role("button", name="OK").click()
    await dialog.wait_for(state="hidden")


async def _shows_the_end(page: Any) -> bool:
    """Whether the chat, pictures loaded, comes to rest scrolled to its end (and is long
    enough to scroll at all)."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    await page.wait_for_function(
        "() => [...document.querySelectorAll('#messages img')].every(i => i.complete)"
    )
    try:
        await page.wait_for_function(
            "() => { const l = document.getElementById('messages');"
            " return l.scrollHeight > l.clientHeight"
            " && l.scrollHeight - l.scrollTop - l.clientHeight < 4; }",
            timeout=3_000,
        )
    except PlaywrightTimeout:
        return False
    return True


async def test_switching_person_on_a_desktop_shows_the_end_of_the_chat(
    browser: Any, playground: Playground
) -> None:
    """Also when the chat holds pictures, which take their height only once loaded (the
    weekly report's charts)."""
    tab = await _open_tab(browser, playground.url, DESKTOP)
    page = tab.page
    try:
        analyst = ChatPage(page, playground, "analyst")
        await analyst.open()
        await analyst.type("/weekly")
        assert await page.locator("#messages img.photo").count() > 0
        assert await _shows_the_end(page)
        for key in ("employer-b", "analyst"):
            await ChatPage(page, playground, key).open()
        at_end = await _shows_the_end(page)
        await screenshot(page, "desktop-switched")
        assert at_end
        assert tab.errors == []
    finally:
        await page.context.close()


async def test_a_question_with_many_buttons_stays_in_view_on_a_phone(
    tab: Tab, playground: Playground, interview: Interview
) -> None:
    page = tab.page
    alex = ChatPage(page, playground, "employer-a")
    await alex.open()
    await alex.fresh_interview()
    sector = _question(interview, "sector")
    await alex.answer_until(sector.label)
    latest = page.locator("#messages li.bot").last
    assert await _in_view(page, latest.locator(".text"))  # the question, not only buttons
    await _fits_the_screen(page)
    last_key = latest.locator(".keyboard button").last
    await last_key.scroll_into_view_if_needed()
    assert await last_key.is_visible()  # every button can be reached
    await screenshot(page, "phone-long-question")
    await alex.answer_current()  # buttons side by side, two to a row
    await _fits_the_screen(page)
    await screenshot(page, "phone-short-buttons")


# -- the employer's interview (features of other branches) --------------------------------------


async def test_a_long_list_is_paged_with_more(
    tab: Tab, playground: Playground, interview: Interview
) -> None:
    page = tab.page
    bea = ChatPage(page, playground, "employer-b")
    await bea.open()
    await bea.fresh_interview()
    sector = _question(interview, "sector")
    await bea.answer_until(sector.label)
    shown = await bea.labels()
    options = {choice.label for choice in sector.choices}
    assert len([label for label in shown if label in options]) <= 10
    more = next(label for label in shown if label.startswith("More"))
    await bea.tap(more)
    later = {label for label in await bea.labels() if label in options}
    assert later - set(shown), "More… shows the other options"
    assert await _in_view(page, page.locator("#messages li.bot").last.locator(".text"))
    await _fits_the_screen(page)
    await screenshot(page, "phone-paged-list")


async def test_a_fourth_tick_of_pick_up_to_3_is_refused_at_once_with_a_notice(
    tab: Tab, playground: Playground, interview: Interview
) -> None:
    page = tab.page
    alex = ChatPage(page, playground, "employer-a")
    await alex.open()
    await alex.fresh_interview()
    question = next(q for q in interview.questions if q.type == "select_multiple" and q.max == 3)
    await alex.answer_until(question.label)
    for choice in question.choices[:4]:
        await alex.tap(choice.label, exact=False)
    ticked = [label for label in await alex.labels() if label.startswith(TICKED)]
    assert len(ticked) == 3
    notice = page.locator("#toast, #alert")
    await notice.filter(has_text="3").first.wait_for(state="visible", timeout=NOTICE_TIMEOUT)
    await screenshot(page, "phone-max-ticks")


async def test_an_exclusive_choice_clears_the_others_and_back(
    tab: Tab, playground: Playground, interview: Interview
) -> None:
    page = tab.page
    chris = ChatPage(page, playground, "employer-c")
    await chris.open()
    await chris.fresh_interview()
    barriers = _question(interview, "training_barriers")
    alone = next(c.label for c in barriers.choices if c.value == "no_need")
    other = barriers.choices[0].label
    await chris.answer_until(barriers.label)
    await chris.tap(other, exact=False)
    await chris.tap(alone, exact=False)
    assert [label for label in await chris.labels() if label.startswith(TICKED)] == [
        f"{TICKED} {alone}"
    ]
    await chris.tap(other, exact=False)
    assert [label for label in await chris.labels() if label.startswith(TICKED)] == [
        f"{TICKED} {other}"
    ]
    await screenshot(page, "phone-exclusive")


async def test_progress_is_shown_as_parts_that_never_jump(
    tab: Tab, playground: Playground, interview: Interview
) -> None:
    page = tab.page
    bea = ChatPage(page, playground, "employer-b")
    await bea.open()
    await bea.fresh_interview()
    parts = len(interview.sections)
    seen: list[str] = []
    for _ in range(6):
        text = await bea.last_bot_text()
        assert not re.search(r"Question \d+ of \d+", text)
        found = re.search(rf"Part (\d) of {parts}", text)
        assert found, text
        seen.append(found.group(1))
        await bea.answer_current()
    assert seen == sorted(seen)
    await screenshot(page, "phone-progress")


async def test_the_review_is_compact_paged_and_edits_by_question(
    tab: Tab, playground: Playground, interview: Interview
) -> None:
    page = tab.page
    alex = ChatPage(page, playground, "employer-a")
    await alex.open()
    await alex.fresh_interview()
    await alex.answer_until_review()
    review = await alex.last_bot_text()
    labels = await alex.labels()
    assert len(labels) <= 12
    assert not [label for label in labels if re.fullmatch(r"Edit \d+", label)]
    consent = _question(interview, "consent").label
    assert consent not in review  # consent is not edited here; /forget is the way out
    assert ORGANISATION in review
    assert len(review) < 1500
    await screenshot(page, "phone-review")
    await alex.tap("Submit")
    assert "Submit" not in await alex.last_bot_text()


async def test_myanswers_shows_labels_in_the_interviews_order(
    tab: Tab, playground: Playground, interview: Interview
) -> None:
    page = tab.page
    bea = ChatPage(page, playground, "employer-b")
    await bea.open()
    await bea.fresh_interview()
    headcount = _question(interview, "headcount")
    await bea.answer_until(headcount.label)
    await bea.type("/myanswers")
    text = await bea.last_bot_text()
    shown = [_question(interview, q).choices[0] for q in ("role", "sector", "district")]
    for choice in shown:
        assert choice.label in text
        assert not re.search(rf"\b{re.escape(choice.value)}\b", text), choice.value
    positions = [text.index(choice.label) for choice in shown]
    assert positions == sorted(positions)
    await screenshot(page, "phone-myanswers")


async def test_forget_asks_with_plain_words(tab: Tab, playground: Playground) -> None:
    page = tab.page
    chris = ChatPage(page, playground, "employer-c")
    await chris.open()
    await chris.type("/start")
    await chris.type("/forget")
    labels = await chris.labels()
    assert "Erase my answers" in labels
    assert "Keep them" in labels
    await screenshot(page, "phone-forget")
    await chris.tap("Keep them")


# -- the staff side -------------------------------------------------------------------------


async def test_staff_are_greeted_with_their_own_commands(
    tab: Tab, playground: Playground, interview: Interview
) -> None:
    page = tab.page
    sam = ChatPage(page, playground, "staff")
    await sam.open()
    greeting = "\n".join(await sam.replies_to("/start"))
    assert "/list" in greeting
    assert _question(interview, "consent").label not in greeting  # not the interview
    await screenshot(page, "phone-staff-greeting")


async def test_the_staff_menu_and_help_list_what_staff_can_do(
    tab: Tab, playground: Playground
) -> None:
    page = tab.page
    sam = ChatPage(page, playground, "staff")
    await sam.open()
    await page.locator("#menu-button").click()
    menu = await page.locator("#commands .command-name").all_inner_texts()
    assert "/list" in menu
    await screenshot(page, "phone-staff-menu")
    await page.keyboard.press("Escape")
    assert "/list" in "\n".join(await sam.replies_to("/help"))
    alex = ChatPage(page, playground, "employer-a")
    await alex.open()
    await page.locator("#menu-button").click()
    assert "/list" not in await page.locator("#commands .command-name").all_inner_texts()


async def test_list_is_a_short_summary_with_a_spreadsheet(
    tab: Tab, playground: Playground, interview: Interview
) -> None:
    page = tab.page
    sam = ChatPage(page, playground, "staff")
    await sam.open()
    texts = await sam.replies_to("/list")
    documents = page.locator("#messages li.bot a.document")
    names = [
        await documents.nth(i).get_attribute("download") for i in range(await documents.count())
    ]
    summary = "\n".join(texts)
    assert len(summary.splitlines()) <= 15, summary  # a short summary, not a wide table
    for internal in ("opted_out", "in_progress", "primary_utilities"):
        assert internal not in summary
    assert any(name and name.endswith((".xlsx", ".csv")) for name in names), names
    assert any(name in "\n".join(texts) for name in names if name)  # sent just now
    await _fits_the_screen(page)
    await screenshot(page, "phone-staff-list")
