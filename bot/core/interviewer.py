"""One update, one unit of work: the employer's side of the bot, between the transports and
the engine. No Telegram library here: what comes in is a person (`Who`) and an engine
input, a command or a button's data; what goes out is a `Reply` of plain messages, edits
and a notice, delivered through the transport's `Messenger`.

For every update a transport calls one `Interviewer` method (through `bot.core.desk`).
In one database transaction holding the chat's lock, it claims the update id (a
re-delivery changes nothing and only shows the current question again), loads the
employer and their response, feeds the engine, saves the new state and commits. Only then
are the prompts sent. No interview logic lives here: the engine decides, this moves data.
The stale-button policy (which presses count) is here too, in `_pressed`.

Beside it: `interview_copy.py` holds what it says (/help, the answers to commands),
`my_answers.py` the /myanswers formatter, `consent.py` how consent and refusal are
recorded, and `prompt_cache.py` the ids of the messages showing each chat's question,
written in batches.

Where a transaction runs (on the event loop with SQLite, on a thread with PostgreSQL) is
`storage.Units`' business.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.core.callbacks import Action, InterviewButton, button_data
from bot.core.consent import record_consent_given
from bot.core.definitions import Definition, Definitions, match_language
from bot.core.interview_copy import (
    ALREADY_DONE,
    ALREADY_SUBMITTED,
    CHOOSE_LANGUAGE,
    ERASED,
    FORGET_CHOICES,
    FORGET_QUESTION,
    HELP,
    KEPT,
    MESSAGES_AGAIN,
    MESSAGES_SETTING_OFF,
    MESSAGES_SETTING_ON,
    NOT_INVITED,
    NOTHING_HELD,
    NOTHING_HELD_BUTTON,
    NOTHING_STARTED,
    ONE_LANGUAGE,
    OPTED_IN,
    OPTED_OUT,
    RESTART_CHOICES,
    RESTART_QUESTION,
    REVIEW_MY_ANSWERS,
    STARTING_AGAIN,
    UPDATED,
)
from bot.core.invites import take_start_payload
from bot.core.messages import UNREAD, Button, Keyboard, Messenger, Outgoing, Reply, Who
from bot.core.my_answers import my_answers
from bot.core.prompt_cache import PromptCache
from bot.core.render import (
    NO_SUCH_PAGE,
    NOT_OURS_BUTTON,
    STALE_BUTTON,
    answered_text,
    ask_keyboard,
    ask_text,
    confirm_keyboard,
    messages_setting_keyboard,
    option_pages,
    page_of,
    render_prompts,
    render_review,
    review_pages,
)
from conversations.definition import Interview
from conversations.display import greeting
from conversations.engine import (
    DefinitionChanged,
    InterviewEngine,
    InterviewStateError,
    Step,
    choice_options,
    display_value,
)
from conversations.events import (
    Ask,
    Back,
    Choose,
    Done,
    Edit,
    Input,
    Invalid,
    Notice,
    Restart,
    Resume,
    Review,
    Skip,
    Stale,
    Submit,
    Text,
    Toggle,
)
from conversations.state import InterviewState
from storage import (
    Employer,
    Response,
    Session,
    Units,
    abandon_response,
    claim_update,
    employer_and_active_response,
    erase_employer,
    get_response,
    known_employer_and_active_response,
    latest_response,
    mark_reachable,
    mark_unreachable,
    save_state,
    set_prompt_messages,
    start_response,
    utcnow,
)
from storage.audience import opt_in
from storage.followups import opt_out, round_invited, start_round_response
from storage.staff import role_of

if TYPE_CHECKING:  # the type only: the database itself is storage's business
    from storage import Engine

logger = logging.getLogger("skillsbot.interviewer")

# Inputs that answer the question on screen (its message then shows the answer).
_ANSWERING = (Text, Choose, Done, Skip)
# How long a prompt message id may wait before it is written with the others (seconds).
PROMPT_BATCH_SECONDS = 0.2
# Buttons that act on the question on screen: only the latest message's count.
_QUESTION_BUTTONS = {Action.CHOOSE, Action.TOGGLE, Action.DONE, Action.SKIP, Action.PAGE}
# The two answers of "/restart?" and "/forget?".
_CONFIRMATIONS = {Action.RESTART, Action.KEEP, Action.FORGET, Action.KEEP_DATA}


@dataclass(slots=True)
class _Context:
    session: Session
    employer: Employer
    response: Response | None
    now: Any
    who: Who

    @property
    def staff_member(self) -> bool:
        """Whether the person holds a staff role (their run is then a test response): the
        role `bot.core.reception` looked up for the update, else read now (once)."""
        if self.who.role is UNREAD:
            self.who = replace(self.who, role=role_of(self.session, self.who.user_id))
        return self.who.role is not None


class Interviewer:
    """Runs each update as one unit of work; see the module docstring."""

    def __init__(
        self,
        *,
        interview: Interview,
        database: Engine,
        delivery: Messenger,
        area: str,
        zone: ZoneInfo,
        units: Units | None = None,
    ) -> None:
        self.interview = interview
        # The definition each response runs on (see bot.core.definitions); `interview` is the
        # one new responses use until an admin activates another from the chat. Expressions'
        # today() is the date in the configured zone, not the machine's.
        self.definitions = Definitions(
            interview, area=area, today=lambda: datetime.now(zone).date()
        )
        self.engine = InterviewEngine(interview, today=self.definitions.today)
        self.database = database
        self.delivery = delivery
        self.area = area
        self.zone = zone
        # How every unit of work reaches the database: the bot's one `Units` (shared with
        # the staff's desk, follow-ups, broadcasts and menus), else one of its own.
        self.units = units or Units(database)
        self._owns_units = units is None
        # Which message shows each chat's question, written in batches.
        self.prompts = PromptCache(self.units)

    async def aclose(self) -> None:
        """Write the prompt ids still waiting, then let the database threads go (after the
        last update has been handled)."""
        try:
            await self.prompts.aclose()
        finally:
            if self._owns_units:
                await self.units.aclose()

    # -- entry points, one per kind of update ------------------------------------------------

    async def start(self, who: Who, payload: str | None, *, resubscribe: bool = True) -> Reply:
        """/start [payload]: greet and begin, resume, or offer the finished answers. The one
        entry point that makes a record of someone new. With `resubscribe` (the /start
        command itself, not a Continue button) it also takes back "No more messages"."""
        return await self._turn(who, lambda ctx: self._start(ctx, payload, resubscribe), None)

    async def resume(self, who: Who, callback_id: str | None = None) -> Reply:
        """A reminder's Continue: /start without its payload and without taking back "No
        more messages". Someone we hold no record of (erased since the reminder) is told
        so, and nothing about them is stored: only Start makes a record."""
        return await self._turn(
            who,
            lambda ctx: self._start(ctx, None, False),
            lambda: Reply("stranger", [_held()]),
            callback_id=callback_id,
        )

    async def start_round(self, who: Who, round_id: int, callback_id: str) -> Reply:
        """A round invitation's Start: begin that round's response (unless one is in
        progress), then show it as /start does. Refused when the round did not invite them;
        someone we hold no record of was invited to nothing."""
        return await self._turn(
            who,
            lambda ctx: self._start_round(ctx, round_id),
            lambda: Reply("not_invited", notice=NOT_INVITED),
            callback_id=callback_id,
        )

    async def set_messages(
        self, who: Who, employer_id: int, *, on: bool, message_id: int, callback_id: str
    ) -> Reply:
        """ "No more messages" (or, `on`, "Send me messages again"): opt the employer out
        (or back in), say so, and take the button away."""
        return await self._turn(
            who,
            lambda ctx: self._set_messages(ctx, employer_id, on, message_id),
            lambda: Reply("foreign_button", notice=NOT_OURS_BUTTON),
            callback_id=callback_id,
        )

    async def feed(self, who: Who, event: Input) -> Reply:
        """A typed reply or a command that maps to an engine input (/back, /skip, /review)."""
        return await self._turn(
            who,
            lambda ctx: self._feed(ctx, event),
            lambda: Reply("not_started", [Outgoing(NOTHING_STARTED)]),
        )

    async def press(
        self,
        who: Who,
        button: InterviewButton | None,
        message_id: int,
        callback_id: str | None = None,
    ) -> Reply:
        """An inline button press (None: data that is not ours). With `callback_id` the
        press is answered (its spinner stopped, with the reply's notice) once the answer
        is stored, alongside the reply."""
        return await self._turn(
            who,
            lambda ctx: self._press(ctx, button, message_id),
            lambda: Reply("stranger_button", notice=NOTHING_HELD_BUTTON),
            callback_id=callback_id,
        )

    async def say(self, who: Who, text: str, *, with_question: bool = True) -> Reply:
        """A fixed answer (unknown command, a sticker...), then the current question."""
        intro = [Outgoing(_html(text))] if text else []
        return await self._turn(
            who,
            lambda ctx: self._say(ctx, text, with_question),
            lambda: Reply(
                "answered", [*intro, *([Outgoing(NOTHING_STARTED)] if with_question else [])]
            ),
        )

    async def confirm(self, who: Who, action: Action) -> Reply:
        """Ask before /restart or /forget, with buttons that say what each does."""
        nothing = _held() if action is Action.FORGET else Outgoing(NOTHING_STARTED)
        return await self._turn(
            who, lambda ctx: self._confirm(ctx, action), lambda: Reply("stranger", [nothing])
        )

    async def my_answers(self, who: Who) -> Reply:
        """/myanswers: everything stored about the person."""
        return await self._turn(who, self._my_answers, lambda: Reply("my_answers", [_held()]))

    async def choose_language(self, who: Who) -> Reply:
        """/language: offer the interview's languages (when it has more than one)."""
        return await self._turn(who, self._language_menu, lambda: Reply("not_started", [_held()]))

    async def help(self, who: Who) -> Reply:
        """/help: what the bot is and its commands, and the setting of our messages."""
        text = HELP.format(area=self.area)
        return await self._turn(
            who, lambda ctx: self._help(ctx, text), lambda: Reply("help", [Outgoing(text)])
        )

    async def chat_closed(self, chat_id: int, update_id: int | None = None) -> None:
        """The person blocked the bot: mark them unreachable, in the unit of work that
        claims the update saying so (`update_id`; None: no update to claim)."""
        await self.units.run(chat_id, self._mark_unreachable, chat_id, update_id)

    # -- the unit of work ----------------------------------------------------------------------

    async def _turn(
        self,
        who: Who,
        work: Callable[[_Context], Reply],
        stranger: Callable[[], Reply] | None,
        *,
        callback_id: str | None = None,
    ) -> Reply:
        """Run `work` for the person; `stranger` answers someone we hold no record of
        (None: make one, which only Start does)."""
        waiting = self.prompts.waiting(who.chat_id)
        # Begun without the chat's lock: the claim, the first statement to touch the chat's
        # data, takes it (a round trip fewer; see storage.claim_update).
        reply = await self.units.run(None, self._transaction, who, work, waiting, stranger)
        if waiting is not None:
            self.prompts.written({who.chat_id: waiting})
        await self._deliver(who.chat_id, reply, callback_id)
        return reply

    def _transaction(
        self,
        session: Session,
        who: Who,
        work: Callable[[_Context], Reply],
        prompt: tuple[int, int] | None,
        stranger: Callable[[], Reply] | None = None,
    ) -> Reply:
        now = utcnow()
        fresh = claim_update(
            session, update_id=who.update_id, chat_id=who.chat_id, now=now, lock_chat=True
        )
        if prompt is not None:  # the chat's question message, not written yet
            set_prompt_messages(session, dict([prompt]))
        if stranger is None:
            employer, response = employer_and_active_response(
                session, telegram_user_id=who.user_id, chat_id=who.chat_id, now=now
            )
        else:
            known, response = known_employer_and_active_response(
                session, telegram_user_id=who.user_id, chat_id=who.chat_id, now=now
            )
            if known is None:  # never started, or erased: answer, but store nothing of them
                return stranger()  # (the inbox drops the update's chat once it is done)
            employer = known
        if employer.status == "unreachable":  # they blocked the bot, and are back
            mark_reachable(session, employer=employer, now=now)
        ctx = _Context(session, employer, response, now, who)
        if fresh:
            reply = work(ctx)
        else:
            # Handled before, by a process that died before marking it done (the inbox
            # never hands a handler an update twice otherwise): what it sent is in doubt.
            # Change nothing, but never leave them without their question (a press's reply
            # may have been the next question, or the ticks shown).
            reply = self._say(ctx, "", True)
            reply.outcome = "duplicate"
        reply.employer_id = ctx.employer.id  # an invite may have joined them to a list entry
        return reply

    async def _deliver(self, chat_id: int, reply: Reply, callback_id: str | None = None) -> None:
        """Answer the button press, update the old question's message and send the new
        messages, all at once: they are independent, and each is a round trip to Telegram
        (the new messages go one after the other, in order)."""
        calls: list[Coroutine[Any, Any, Any]] = []
        if reply.messages:
            calls.append(self._send_messages(chat_id, reply))
        if reply.settled is not None:
            calls.append(self._settle(chat_id, reply.settled, reply.settled_text))
        if reply.old_prompt is not None and reply.old_prompt != reply.settled:
            calls.append(self._update_old_prompt(chat_id, reply.old_prompt, reply))
        if callback_id is not None:
            answer = self.delivery.answer_callback(callback_id, reply.notice, alert=reply.alert)
            calls.append(answer)
        if len(calls) == 1:
            await calls[0]
        elif calls:
            await asyncio.gather(*calls)

    async def _update_old_prompt(self, chat_id: int, old_prompt: int, reply: Reply) -> None:
        """One call: its new text with its new buttons, or new buttons only, or (when new
        buttons are sent below it) no buttons."""
        if reply.old_prompt_text is not None:
            await self.delivery.edit_text(
                chat_id, old_prompt, reply.old_prompt_text, reply.in_place
            )
        elif reply.in_place is not None:
            await self.delivery.edit_keyboard(chat_id, old_prompt, reply.in_place)
        elif any(message.keyboard is not None for message in reply.messages):
            await self.delivery.edit_keyboard(chat_id, old_prompt, None)

    async def _settle(self, chat_id: int, message_id: int, text: str | None) -> None:
        """An answered confirmation: it says what was done (one call), or loses its buttons."""
        if text is not None:
            await self.delivery.edit_text(chat_id, message_id, text)
        else:
            await self.delivery.edit_keyboard(chat_id, message_id, None)

    async def _send_messages(self, chat_id: int, reply: Reply) -> None:
        prompt_message: int | None = None
        for message in reply.messages:
            sent = await self.delivery.send(chat_id, message)
            if sent is not None and (message.keyboard is not None or message.question_id):
                prompt_message = sent
        if prompt_message is not None and reply.response_id is not None:
            self.prompts.remember(chat_id, reply.response_id, prompt_message)

    @staticmethod
    def _mark_unreachable(session: Session, chat_id: int, update_id: int | None) -> None:
        now = utcnow()
        if update_id is None or claim_update(
            session, update_id=update_id, chat_id=chat_id, now=now
        ):
            mark_unreachable(session, chat_id=chat_id, now=now)

    # -- what each kind of update does, inside the transaction ------------------------------

    def _start(self, ctx: _Context, payload: str | None, resubscribe: bool = False) -> Reply:
        reply = self._started(ctx, payload)
        if resubscribe and opt_in(ctx.session, employer=ctx.employer, now=ctx.now):
            reply.messages.insert(0, Outgoing(MESSAGES_AGAIN))
        return reply

    def _start_round(self, ctx: _Context, round_id: int) -> Reply:
        employer_id = _id(ctx.employer)
        if not round_invited(ctx.session, round_id=round_id, employer_id=employer_id):
            return Reply("not_invited", notice=NOT_INVITED)
        response = start_round_response(
            ctx.session,
            employer_id=employer_id,
            round_id=round_id,
            interview_id=self.interview.id,
            interview_version=self.interview.version,
            state=self.engine.start().state,
            now=ctx.now,
        )
        if response is not None:
            if ctx.staff_member:
                response.test = True  # a staff member's own run counts nowhere
                ctx.session.add(response)
            ctx.response = response
        return self._start(ctx, None, False)

    def _set_messages(self, ctx: _Context, employer_id: int, on: bool, message_id: int) -> Reply:
        if ctx.employer.id != employer_id:
            logger.warning("event=foreign_button employer=%s", ctx.employer.id)
            return Reply("foreign_button", notice=NOT_OURS_BUTTON)
        if on:
            opt_in(ctx.session, employer=ctx.employer, now=ctx.now)
        else:
            opt_out(ctx.session, employer=ctx.employer, now=ctx.now)
        outcome, text = ("opted_in", OPTED_IN) if on else ("opted_out", OPTED_OUT)
        return Reply(outcome, [Outgoing(text)], settled=message_id)

    def _help(self, ctx: _Context, text: str) -> Reply:
        opted_out = ctx.employer.opted_out_at is not None or ctx.employer.status == "opted_out"
        setting = MESSAGES_SETTING_OFF if opted_out else MESSAGES_SETTING_ON
        keyboard = messages_setting_keyboard(_id(ctx.employer), opted_out=opted_out)
        return Reply("help", [Outgoing(text + setting, keyboard)])

    def _started(self, ctx: _Context, payload: str | None) -> Reply:
        if payload is not None:  # a campaign's name, or an invite (opened, never shown)
            ctx.employer, payload = take_start_payload(
                ctx.session, employer=ctx.employer, payload=payload, now=ctx.now
            )
        if ctx.response is not None:
            known = self._definition(ctx, ctx.response)
            engine = known.engine(ctx.response.state.language) if known else self.engine
            part = engine.part(ctx.response.state)
            greeting = f"Welcome back — {part.text}." if part is not None else "Welcome back."
            reply = self._step(ctx, ctx.response, Resume(), outcome="resumed")
            reply.messages.insert(0, Outgoing(greeting))
            return reply
        latest = latest_response(ctx.session, employer_id=_id(ctx.employer))
        if latest is not None and latest.status == "completed":
            return self._already_done(latest, outcome="already_completed")
        return self._begin(ctx, source=payload, intro=None, outcome="started")

    def _already_done(self, response: Response, *, outcome: str) -> Reply:
        """Thanks for a submitted interview, with a button to look at the answers."""
        button = Button(REVIEW_MY_ANSWERS, button_data(Action.REVIEW, _id(response)))
        keyboard = Keyboard.of([[button]])
        return Reply(outcome, [Outgoing(ALREADY_DONE, keyboard)], response_id=response.id)

    def _begin(
        self, ctx: _Context, *, source: str | None, intro: str | None, outcome: str
    ) -> Reply:
        """A new response, on the definition new responses use now (`intro` None: the
        greeting, which names that interview)."""
        definition = self.definitions.for_new(ctx.session)
        languages = definition.interview.languages
        language = match_language(ctx.who.language_code, languages)
        interview = definition.worded(language)
        step = definition.engine(language).start()
        if language is not None:
            step = replace(step, state=replace(step.state, language=language))
        response = start_response(
            ctx.session,
            employer_id=_id(ctx.employer),
            interview_id=interview.id,
            interview_version=interview.version,
            state=step.state,
            source=source,
            now=ctx.now,
            # A staff member, analyst or admin trying the interview: a test response.
            test=ctx.staff_member,
        )
        if intro is None:
            heading, line = greeting(interview, self.area)
            intro = f"<b>{_html(heading)}</b>\n{_html(line)}"
        if len(languages) > 1 and language is None:  # ask which, then the first question
            messages = [Outgoing(intro), self._language_question(definition, response)]
            return Reply(outcome, messages, response_id=response.id)
        messages = [Outgoing(intro), *self._render(step, response, interview=interview)]
        return Reply(outcome, messages, response_id=response.id)

    @staticmethod
    def _language_question(definition: Definition, response: Response) -> Outgoing:
        """Which language? One button per language of the interview."""
        buttons = [
            [Button(language, button_data(Action.LANGUAGE, _id(response), choice=index))]
            for index, language in enumerate(definition.interview.languages)
        ]
        return Outgoing(CHOOSE_LANGUAGE, Keyboard.of(buttons))

    def _language_menu(self, ctx: _Context) -> Reply:
        response = ctx.response or latest_response(ctx.session, employer_id=_id(ctx.employer))
        if response is None:
            return Reply("not_started", [Outgoing(NOTHING_STARTED)])
        known = self._definition(ctx, response)
        if known is None or len(known.interview.languages) < 2:
            return self._say(ctx, ONE_LANGUAGE, True)
        return Reply("language_menu", [self._language_question(known, response)])

    def _set_language(self, ctx: _Context, response: Response, index: int) -> Reply:
        """Ask this response in the chosen language from now on; its answers stay."""
        known = self._definition(ctx, response)
        languages = known.interview.languages if known else ()
        if not 0 <= index < len(languages):
            return Reply("stale_button", notice=STALE_BUTTON)
        state = replace(response.state, language=languages[index])
        profile = known.interview.profile if known else None
        save_state(ctx.session, response=response, state=state, now=ctx.now, profile=profile)
        reply = self._step(ctx, response, Resume(), outcome="language")
        reply.notice = languages[index]
        return reply

    def _superseded(self, ctx: _Context, response: Response) -> bool:
        """Whether new responses now use another interview or version than this one."""
        key = (response.interview_id, response.interview_version)
        return self.definitions.for_new(ctx.session).key != key

    def _restart_on_new_version(self, ctx: _Context, response: Response) -> Reply:
        """/restart confirmed after the interview changed: the answers are thrown away, as
        any /restart does, and the new response is on the interview new responses use."""
        known = self._definition(ctx, response)
        if known is not None:
            fresh = known.engine(response.state.language).start()
            save_state(
                ctx.session,
                response=response,
                state=fresh.state,
                now=ctx.now,
                profile=known.interview.profile,
            )
        abandon_response(ctx.session, response=response, now=ctx.now)
        return self._begin(ctx, source=response.source, intro=STARTING_AGAIN, outcome="restarted")

    def _definition(self, ctx: _Context, response: Response) -> Definition | None:
        """The definition this response started on (None: it is known no more)."""
        return self.definitions.for_response(
            ctx.session, response.interview_id, response.interview_version
        )

    def _feed(self, ctx: _Context, event: Input) -> Reply:
        if ctx.response is not None:
            return self._step(ctx, ctx.response, event, outcome=_outcome(event))
        latest = latest_response(ctx.session, employer_id=_id(ctx.employer))
        if latest is None or latest.status in ("declined", "abandoned"):
            # A first "hello": begin, as /start would; but someone who declined starts again
            # only when they ask to (/start), so a word from them answers and changes nothing.
            if isinstance(event, Text) and (latest is None or latest.status != "declined"):
                return self._start(ctx, None)
            return Reply("not_started", [Outgoing(NOTHING_STARTED)])
        return self._step(ctx, latest, event, outcome=_outcome(event))

    def _press(self, ctx: _Context, button: InterviewButton | None, message_id: int) -> Reply:
        reply = self._pressed(ctx, button, message_id)
        if button is not None and button.action in _CONFIRMATIONS and reply.notice is None:
            reply.settled = message_id
        return reply

    def _kept(self, ctx: _Context) -> Reply:
        """A declined /restart or /forget: the confirmation says so, the question follows."""
        reply = self._say(ctx, "", True)
        reply.settled_text = _html(KEPT)
        return reply

    def _pressed(self, ctx: _Context, button: InterviewButton | None, message_id: int) -> Reply:
        if button is None:
            logger.warning("event=foreign_button employer=%s", ctx.employer.id)
            return Reply("foreign_button", notice=NOT_OURS_BUTTON)
        if button.action in (Action.FORGET, Action.KEEP_DATA):
            if button.response != ctx.employer.id:
                logger.warning("event=foreign_button employer=%s", ctx.employer.id)
                return Reply("foreign_button", notice=NOT_OURS_BUTTON)
            if button.action is Action.KEEP_DATA:
                return self._kept(ctx)
            erase_employer(ctx.session, employer=ctx.employer, now=ctx.now)
            return Reply("erased", settled_text=_html(ERASED))
        response = get_response(ctx.session, response_id=button.response)
        if response is None or response.employer_id != ctx.employer.id:
            logger.warning("event=foreign_button employer=%s", ctx.employer.id)
            return Reply("foreign_button", notice=NOT_OURS_BUTTON)
        current = ctx.response
        if button.action is Action.LANGUAGE:
            return self._set_language(ctx, response, button.choice)
        if button.action is Action.RESTART:
            asked = response.prompt_message_id
            if asked is not None and message_id < asked:
                # A confirmation older than the question now asked was answered before:
                # pressed again, it would throw away the answers given since.
                return Reply("stale_button", notice=STALE_BUTTON)
            if current is not None and current.id == response.id:
                if self._superseded(ctx, current):
                    return self._restart_on_new_version(ctx, current)
                return self._step(ctx, current, Restart(), outcome="restarted")
            if current is None and response.status == "completed":
                return self._begin(
                    ctx, source=response.source, intro=STARTING_AGAIN, outcome="restarted"
                )
            return Reply("stale_button", notice=STALE_BUTTON)
        if button.action is Action.KEEP:
            return self._kept(ctx)
        if button.action is Action.REVIEW:
            return self._step(ctx, response, Review(), outcome="review")
        if button.action is Action.REVIEW_PAGE:
            return self._review_page(ctx, response, button.choice, message_id)
        if button.action is Action.SUBMIT and response.status == "completed":
            return Reply("already_submitted", notice=ALREADY_SUBMITTED)
        stale = current is None or current.id != response.id
        shown = response.prompt_message_id
        if not stale and button.action in _QUESTION_BUTTONS:
            # A message older than the question's is stale; a newer one is the question's
            # own, whose id was not written yet when the bot stopped (see the docstring).
            stale = shown is not None and message_id < shown
            shown = max(shown or 0, message_id)
        if stale:
            return Reply("stale_button", notice=STALE_BUTTON)
        if button.action is Action.PAGE:
            return self._options_page(ctx, response, button, message_id)
        known = self._definition(ctx, response)
        worded = known.worded(response.state.language) if known else self.interview
        event = self._button_input(button, worded)
        if event is None:
            logger.warning("event=foreign_button employer=%s", ctx.employer.id)
            return Reply("foreign_button", notice=NOT_OURS_BUTTON)
        reply = self._step(ctx, response, event, outcome=_outcome(event), shown=shown, pressed=True)
        if reply.outcome == "stale_button":
            return Reply("stale_button", notice=STALE_BUTTON)
        if isinstance(event, Submit) and reply.outcome == "submitted":
            self._submitted_in_place(reply, message_id)
        return reply

    @staticmethod
    def _submitted_in_place(reply: Reply, message_id: int) -> None:
        """The review whose Submit was pressed becomes the thanks (one edit, no new
        message): no "Tap … or Submit" is left behind."""
        if len(reply.messages) != 1:
            return
        (thanks,) = reply.messages
        if reply.old_prompt is not None and reply.old_prompt != message_id:
            reply.settled = reply.old_prompt  # a newer review's buttons go too
        reply.old_prompt = message_id
        reply.old_prompt_text = thanks.text
        reply.in_place = thanks.keyboard
        reply.messages = []

    def _options_page(
        self, ctx: _Context, response: Response, button: InterviewButton, message_id: int
    ) -> Reply:
        """Another page of the question's options, in the same message; nothing changes."""
        known = self._definition(ctx, response)
        if known is None:
            return Reply("stale_button", notice=STALE_BUTTON)
        language = response.state.language
        interview = known.worded(language)
        ask = self._asked(response.state, known.engine(language))
        if ask is None or interview.position.get(ask.question.id) != button.question:
            return Reply("stale_button", notice=STALE_BUTTON)
        if len(option_pages(ask)) < 2 or not 0 <= button.choice < len(option_pages(ask)):
            return Reply("no_such_page", notice=NO_SUCH_PAGE)
        opens = self._opens_section(ask.question.id, interview)
        return Reply(
            "page",
            old_prompt=message_id,
            old_prompt_text=ask_text(ask, show_section=opens, page=button.choice),
            in_place=ask_keyboard(
                ask, interview=interview, response_id=_id(response), page=button.choice
            ),
        )

    def _review_page(self, ctx: _Context, response: Response, page: int, message_id: int) -> Reply:
        """Another page of the review, in the same message; nothing changes. Any review
        of the response being answered, or of a submitted one, can be paged."""
        current = ctx.response is not None and ctx.response.id == response.id
        known = self._definition(ctx, response)
        if known is None or not (current or response.status == "completed"):
            return Reply("stale_button", notice=STALE_BUTTON)
        language = response.state.language
        state = response.state
        if state.editing:
            return Reply("stale_button", notice=STALE_BUTTON)  # an answer is being changed
        review = known.engine(language).review(state)
        if len(review_pages(review)) < 2 or not 0 <= page < len(review_pages(review)):
            return Reply("no_such_page", notice=NO_SUCH_PAGE)
        shown = render_review(
            review,
            interview=known.worded(language),
            response_id=_id(response),
            editable=not state.finished,
            page=page,
        )[-1]
        return Reply(
            "review_page",
            old_prompt=message_id,
            old_prompt_text=shown.text,
            in_place=shown.keyboard,
        )

    def _button_input(self, button: InterviewButton, interview: Interview) -> Input | None:
        """The engine input a button stands for (None when its indexes point nowhere)."""
        if button.action is Action.SUBMIT:
            return Submit()
        questions = interview.questions
        if not 0 <= button.question < len(questions):
            return None
        question = questions[button.question]
        if button.action is Action.EDIT:
            return Edit(question.id)
        if button.action is Action.DONE:
            return Done(question.id)
        if button.action is Action.SKIP:
            return Skip(question.id)
        options = choice_options(question)
        if not 0 <= button.choice < len(options):
            return None
        value = options[button.choice].value
        if button.action is Action.CHOOSE:
            return Choose(value, question.id)
        if button.action is Action.TOGGLE:
            return Toggle(value, question.id)
        return None

    def _say(self, ctx: _Context, text: str, with_question: bool) -> Reply:
        intro = [Outgoing(_html(text))] if text else []
        if not with_question:
            return Reply("answered", intro)
        if ctx.response is not None:
            reply = self._step(ctx, ctx.response, Resume(), outcome="reshown")
            reply.messages[:0] = intro
            return reply
        latest = latest_response(ctx.session, employer_id=_id(ctx.employer))
        if latest is not None and latest.status == "completed":
            reply = self._already_done(latest, outcome="reshown")
            reply.messages[:0] = intro
            return reply
        return Reply("reshown", [*intro, Outgoing(NOTHING_STARTED)])

    def _confirm(self, ctx: _Context, action: Action) -> Reply:
        if action is Action.FORGET:
            keyboard = confirm_keyboard(
                yes=Action.FORGET,
                no=Action.KEEP_DATA,
                response_id=_id(ctx.employer),
                labels=FORGET_CHOICES,
            )
            return Reply("confirm_forget", [Outgoing(FORGET_QUESTION, keyboard)])
        response = ctx.response or latest_response(ctx.session, employer_id=_id(ctx.employer))
        if response is None:
            return Reply("not_started", [Outgoing(NOTHING_STARTED)])
        keyboard = confirm_keyboard(
            yes=Action.RESTART, no=Action.KEEP, response_id=_id(response), labels=RESTART_CHOICES
        )
        return Reply("confirm_restart", [Outgoing(RESTART_QUESTION, keyboard)])

    def _my_answers(self, ctx: _Context) -> Reply:
        texts = my_answers(
            ctx.session,
            ctx.employer,
            definitions=self.definitions,
            interview=self.interview,
            zone=self.zone,
        )
        return Reply("my_answers", [Outgoing(text) for text in texts])

    # -- feeding the engine ----------------------------------------------------------------

    def _step(
        self,
        ctx: _Context,
        response: Response,
        event: Input,
        *,
        outcome: str,
        intro: str | None = None,
        shown: int | None = None,
        pressed: bool = False,
    ) -> Reply:
        """Feed the engine, save the new state, and say what to show.

        `shown`: the message showing the question, when known better than the stored id.
        `pressed`: the input is a button's; one the engine refuses, changing nothing, is
        answered with a pop-up notice alone (the message with the button stays as it is).
        """
        old_state = response.state
        known = self._definition(ctx, response)
        language = response.state.language
        try:
            if known is None:
                raise DefinitionChanged(
                    response.interview_id, response.interview_version, self.interview
                )
            engine = known.engine(language)
            interview = known.worded(language)
            before = self._asked(old_state, engine)
            step = engine.handle(old_state, event)
            if language is not None and step.state.language is None:  # a /restart
                step = replace(step, state=replace(step.state, language=language))
        except (DefinitionChanged, InterviewStateError) as error:
            logger.warning(
                "event=state_replaced employer=%s reason=%s", ctx.employer.id, type(error).__name__
            )
            abandon_response(ctx.session, response=response, now=ctx.now)
            return self._begin(ctx, source=response.source, intro=UPDATED, outcome="updated")
        stale = any(isinstance(prompt, Stale) for prompt in step.prompts)
        refusals = [prompt.message for prompt in step.prompts if isinstance(prompt, Invalid)]
        invalid = bool(refusals)
        notices = [prompt for prompt in step.prompts if isinstance(prompt, Notice)]
        if pressed and (invalid or notices) and step.state == old_state:
            text = " ".join([*refusals, *(notice.text for notice in notices)])
            return Reply("refused", notice=text, alert=any(n.alert for n in notices))
        if step.state != old_state:
            save_state(
                ctx.session,
                response=response,
                state=step.state,
                now=ctx.now,
                profile=interview.profile,
            )
            ctx.employer = record_consent_given(
                ctx.session,
                employer=ctx.employer,
                response=response,
                state=step.state,
                interview=interview,
                now=ctx.now,
            )
        reply = Reply(
            "stale_button" if stale else "invalid" if invalid else outcome,
            response_id=response.id,
            old_prompt=shown if shown is not None else response.prompt_message_id,
            notice=" ".join(notice.text for notice in notices) or None,
            alert=any(notice.alert for notice in notices),
        )
        asks = [prompt for prompt in step.prompts if not isinstance(prompt, Notice)]
        if (
            isinstance(event, Toggle)
            and before is not None
            and len(asks) == 1
            and isinstance(asks[0], Ask)
            and asks[0].question.id == before.question.id
        ):  # the same message, its ticks and buttons changed, on the page tapped
            ask = asks[0]
            page = page_of(ask, event.value)
            opens = self._opens_section(ask.question.id, interview)
            reply.old_prompt_text = ask_text(ask, show_section=opens, page=page)
            reply.in_place = ask_keyboard(
                ask, interview=interview, response_id=_id(response), page=page
            )
            return reply
        if (
            isinstance(event, Text)
            and before is not None
            and not (stale or invalid)
            and ask_keyboard(before, interview=interview, response_id=_id(response)) is None
        ):
            # A typed answer to a question without buttons: the person's own message shows
            # it right under the question, so the question is left as it is (a Bot API
            # call fewer per typed answer).
            reply.old_prompt = None
        elif before is not None and isinstance(event, _ANSWERING) and not (stale or invalid):
            given = step.echo.text if step.echo is not None else _given(before, step.state)
            reply.old_prompt_text = answered_text(
                before, given, show_section=self._opens_section(before.question.id, interview)
            )
        if intro:
            reply.messages.append(Outgoing(_html(intro)))
        # The section title shows when it changes; a question shown again shows it again.
        section = None if before is None or isinstance(event, Resume) else before.section_title
        # A review after an answer was changed (from the review) opens at that answer's page.
        editing = before is not None and old_state.editing
        focus = before.question.id if editing and before is not None else None
        reply.messages.extend(
            self._render(step, response, interview=interview, previous_section=section, focus=focus)
        )
        return reply

    @staticmethod
    def _opens_section(question_id: str, interview: Interview) -> bool:
        """Whether the question is the first one asked in its section (shows its title)."""
        for section in interview.sections:
            answerable = [q.id for q in section.questions if q.answerable]
            if question_id in answerable:
                return answerable[0] == question_id
        return False

    @staticmethod
    def _asked(state: InterviewState, engine: InterviewEngine) -> Ask | None:
        """The question on screen in this state, if one is."""
        if not state.asking:
            return None
        prompts = engine.handle(state, Resume()).prompts
        asks = [prompt for prompt in prompts if isinstance(prompt, Ask)]
        return asks[-1] if asks else None

    @staticmethod
    def _render(
        step: Step,
        response: Response,
        *,
        interview: Interview,
        previous_section: str | None = None,
        focus: str | None = None,
    ) -> list[Outgoing]:
        return render_prompts(
            step.prompts,
            interview=interview,
            response_id=_id(response),
            previous_section=previous_section,
            editable=not step.state.finished,
            focus=focus,
        )


def _given(asked: Ask, state: InterviewState) -> str:
    """The answer the question's message shows once answered, when the engine gave no
    echo of it."""
    answers = state.answers
    return display_value(asked.question, answers.get(asked.question.id), answers)


def _held() -> Outgoing:
    return Outgoing(NOTHING_HELD)


def _id(row: Employer | Response) -> int:
    assert row.id is not None  # rows are flushed before we use them
    return row.id


def _outcome(event: Input) -> str:
    return {
        Back: "back",
        Skip: "skipped",
        Review: "review",
        Edit: "edit",
        Submit: "submitted",
        Restart: "restarted",
        Resume: "reshown",
        Toggle: "toggled",
    }.get(type(event), "answered")


def _html(text: str) -> str:
    return escape(text)
