"""Turn the engine's prompts into messages: HTML text and inline keyboards (plain values
of `bot.core.messages`).

Pure functions: no Bot, no network, no Telegram library. Every piece of text that comes
from a definition or from a person is HTML-escaped, and long texts are split under
Telegram's 4096-character limit. Telegram counts characters in UTF-16 code units (an emoji
such as 😀 is two), so every length checked against one of its limits is `telegram_length`
(`bot.core.limits`).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from bot.core.callbacks import NO_INDEX, Action, FollowUpAction, button_data, follow_up_data
from bot.core.limits import MAX_MESSAGE_CHARS, telegram_length
from bot.core.messages import Button, Keyboard, Outgoing
from conversations.definition import Interview
from conversations.engine import choice_options
from conversations.events import (
    Ask,
    Completed,
    Declined,
    Invalid,
    Note,
    Prompt,
    ReviewItem,
    ReviewSummary,
    Stale,
)

# An answer shown again inside a question ("Current answer: ...") is cut to this length.
MAX_CURRENT_ANSWER = 1000
ELLIPSIS = "…"
SELECTED_MARK = "✅ "
UNSELECTED_MARK = "▫️ "
STALE_BUTTON = "That question has moved on — please use the latest message."
NOT_OURS_BUTTON = "Sorry, that button is not one I can use."
NO_SUCH_PAGE = "Sorry, that page is not there any more — please use the latest message."

# A message carries at most MOST_OPTIONS choice buttons: a longer list is shown in pages of
# at most PAGE_SIZE options, with "More…" and "« Back" editing the same message, so that on a
# phone the question and its ticks stay in view.
MOST_OPTIONS = 10
PAGE_SIZE = 8
MORE = "More…"
PREVIOUS = "« Back"
# The review shows this many answers a page (each with its own Edit button).
REVIEW_PAGE_SIZE = 7
# An answer or a question's label is cut to this length in the review (the answer stays
# whole: the person's /myanswers shows it whole), and a question's label on its Edit button.
MAX_REVIEW_ANSWER = 300
MAX_REVIEW_LABEL = 200
MAX_EDIT_LABEL = 40
EDIT_MARK = "✏️ "
CONSENT_NOT_EDITABLE = "To withdraw your consent and erase your answers, send /forget."
# The ticked options named under a multiple-choice question are cut to this length.
MAX_TICKED_TEXT = 300

# Button labels up to this length go 3 to a row, up to LONG_LABEL 2 to a row, longer alone.
# Telegram allows at most 8 buttons in a row: a longer scale (0 to 10) is split evenly.
MAX_ROW = 8
SHORT_LABEL = 12
LONG_LABEL = 24
# Questions answered by typing rather than by buttons.
TYPED_TYPES = frozenset({"text", "integer", "decimal", "date"})


def render_prompts(
    prompts: Sequence[Prompt],
    *,
    interview: Interview,
    response_id: int,
    previous_section: str | None = None,
    editable: bool = True,
    focus: str | None = None,
) -> list[Outgoing]:
    """The messages that show `prompts`, in order.

    `previous_section` is the section title of the question asked before; the title is
    shown again only when it changes. A review of submitted answers (`editable=False`)
    has no Edit or Submit buttons. A review opens at the page of question `focus` (the
    one just changed), else at its first page.
    """
    messages: list[Outgoing] = []
    section = previous_section
    for prompt in prompts:
        if isinstance(prompt, Ask):
            messages.append(
                render_ask(
                    prompt,
                    interview=interview,
                    response_id=response_id,
                    show_section=prompt.section_title != section,
                )
            )
            section = prompt.section_title
        elif isinstance(prompt, Note):
            messages.append(
                Outgoing(text=_label_and_hint(prompt.question.label, prompt.question.hint))
            )
        elif isinstance(prompt, Invalid | Stale | Declined):
            messages.append(Outgoing(text=escape(prompt.message)))
        elif isinstance(prompt, ReviewSummary):
            messages.extend(
                render_review(
                    prompt,
                    interview=interview,
                    response_id=response_id,
                    editable=editable,
                    page=review_page_of(prompt, focus),
                )
            )
        elif isinstance(prompt, Completed):
            messages.append(render_completed(response_id=response_id))
        # A Notice is a button's pop-up (answerCallbackQuery), never a message.
    return messages


def pages(count: int, *, size: int = PAGE_SIZE, most: int = MOST_OPTIONS) -> list[range]:
    """The places shown on each page of a list of `count` items: one page up to `most`,
    else pages of at most `size`, as even as they can be (27 options: 7, 7, 7, 6)."""
    if count <= most:
        return [range(count)]
    number = -(-count // size)
    base, extra = divmod(count, number)
    spans: list[range] = []
    start = 0
    for index in range(number):
        end = start + base + (1 if index < extra else 0)
        spans.append(range(start, end))
        start = end
    return spans


def _paged(ask: Ask) -> bool:
    return bool(ask.options) and not ask.follow_up and ask.question.type != "scale"


def option_pages(ask: Ask) -> list[range]:
    """The pages of the question's options (one page when it is not paged). Options the
    definition groups ("People and personal") are paged group by group: a group is split
    evenly where it is too long, and small neighbours share a page."""
    count = len(ask.options)
    if not _paged(ask) or count <= MOST_OPTIONS:
        return [range(count)]
    groups = [option.group for option in ask.options]
    if not any(groups):
        return pages(count)
    runs: list[range] = []
    start = 0
    for end in range(1, count + 1):
        if end == count or groups[end] != groups[start]:
            runs.append(range(start, end))
            start = end
    spans: list[range] = []
    for run in runs:
        for span in pages(len(run), most=PAGE_SIZE):
            piece = range(run.start + span.start, run.start + span.stop)
            if spans and len(spans[-1]) + len(piece) <= PAGE_SIZE:
                spans[-1] = range(spans[-1].start, piece.stop)
            else:
                spans.append(piece)
    return spans


def page_of(ask: Ask, value: str | None) -> int:
    """The page showing the option `value` (0 when it is not one of them)."""
    places = [i for i, option in enumerate(ask.options) if option.value == value]
    if not places:
        return 0
    return next(n for n, span in enumerate(option_pages(ask)) if places[0] in span)


def ask_text(
    ask: Ask, *, show_section: bool = False, instructions: bool = True, page: int = 0
) -> str:
    """The text of a question message (without its buttons); `page`: the page of its
    options shown. A long list says which options are shown, and a multiple-choice
    question how many are ticked and which, whichever page is shown."""
    question = ask.question
    lines: list[str] = []
    if ask.part is not None:  # "Part 3 of 7: Recruitment", whose total never moves
        lines.append(f"<i>{escape(ask.part.text)}</i>")
    else:
        if show_section and ask.section_title:
            lines.append(f"<b>{escape(ask.section_title)}</b>")
        lines.append(f"<i>Question {ask.position} of {ask.total}</i>")
    if ask.follow_up:
        lines.append(f"<b>{escape(question.label)}</b>")
        lines.append("Please type your answer for “Other”.")
        return "\n".join(lines)
    lines.append(_label_and_hint(question.label, question.hint, bold=True))
    if question.type == "scale":
        low = int(question.min if question.min is not None else 1)
        high = int(question.max if question.max is not None else 5)
        ends = [
            f"{value} = {escape(label)}"
            for value, label in ((low, question.min_label), (high, question.max_label))
            if label
        ]
        if ends:
            lines.append(" … ".join(ends))
    if not instructions:
        return "\n".join(lines)
    # The engine's words match the screen ("Tick up to 3, then tap Done.").
    instruction = escape(ask.instruction) if ask.instruction else answer_instruction(ask)
    if instruction:
        lines.append(instruction)
    spans = option_pages(ask)
    if len(spans) > 1:
        span = spans[min(max(page, 0), len(spans) - 1)]
        shown = f"options {span.start + 1}–{span.stop} of {len(ask.options)}"
        named = [ask.options[i].group for i in span]
        groups = list(dict.fromkeys(group for group in named if group))
        if groups:
            shown = f"{escape(', '.join(groups))}: {shown}"
        lines.append(f"<i>{shown[0].upper()}{shown[1:]}</i>")
    if question.type == "select_multiple" and not ask.follow_up:
        lines.append(ticked_line(ask))
    if ask.current is not None and question.type in TYPED_TYPES:
        lines.append(f"Current answer: {escape(clip(str(ask.current), MAX_CURRENT_ANSWER))}")
    return "\n".join(lines)


def ticked_line(ask: Ask) -> str:
    """How many options of a multiple-choice question are ticked ("2 of 3 ticked" when it
    allows 3), and which."""
    names = {option.value: option.label for option in ask.options}
    ticked = [names.get(value, value) for value in ask.selected]
    most = ask.question.max
    count = f"{len(ticked)} of {int(most)}" if most is not None else str(len(ticked))
    if not ticked:
        return f"<i>{count} ticked so far.</i>" if most is not None else "<i>None ticked yet.</i>"
    return f"<i>{count} ticked:</i> {escape(clip('; '.join(ticked), MAX_TICKED_TEXT))}"


def answer_instruction(ask: Ask) -> str:
    """What kind of reply the question wants, for people."""
    question = ask.question
    low, high = question.min, question.max
    if question.type == "select_multiple":
        return "Tap every option that applies, then <b>Done</b>."
    if question.type == "text":
        if high is not None:
            return f"Please type your answer (up to {int(high)} characters)."
        return "Please type your answer."
    if question.type == "integer":
        return "Please type a whole number" + _range(low, high) + "."
    if question.type == "decimal":
        return "Please type a number" + _range(low, high) + "."
    if question.type == "date":
        return "Please type a date, for example 31/03/2026."
    return ""


def _range(low: float | None, high: float | None) -> str:
    def show(value: float) -> str:
        return str(int(value)) if float(value).is_integer() else str(value)

    if low is not None and high is not None:
        return f" from {show(low)} to {show(high)}"
    if low is not None:
        return f" of at least {show(low)}"
    if high is not None:
        return f" of at most {show(high)}"
    return ""


def render_ask(
    ask: Ask,
    *,
    interview: Interview,
    response_id: int,
    show_section: bool = False,
    page: int = 0,
) -> Outgoing:
    """A question message with its buttons (page `page` of a long list's options)."""
    return Outgoing(
        text=ask_text(ask, show_section=show_section, page=page),
        keyboard=ask_keyboard(ask, interview=interview, response_id=response_id, page=page),
        question_id=ask.question.id,
    )


def ask_keyboard(
    ask: Ask, *, interview: Interview, response_id: int, page: int = 0
) -> Keyboard | None:
    """The buttons of a question: its options (page `page` of a long list, with "Back" and
    "More…"), then Done and Skip as they apply."""
    question = ask.question
    index = interview.position[question.id]
    rows: list[list[Button]] = []
    if ask.options and not ask.follow_up:
        multiple = question.type == "select_multiple"
        action = Action.TOGGLE if multiple else Action.CHOOSE
        spans = option_pages(ask)
        page = min(max(page, 0), len(spans) - 1)
        # A button names the option's place among all of the question's options, which
        # a choice_filter may show only some of.
        place = {option.value: i for i, option in enumerate(choice_options(question))}
        buttons = [
            Button(
                text=_option_label(option.label, option.value in ask.selected, multiple),
                callback_data=button_data(
                    action, response_id, index, place.get(option.value, choice)
                ),
            )
            for choice, option in enumerate(ask.options)
            if choice in spans[page]
        ]
        rows.extend(_layout(buttons, one_row=question.type == "scale"))
        if len(spans) > 1:
            rows.append(_page_row(Action.PAGE, response_id, index, page, len(spans)))
        if multiple:
            rows.append(
                [Button(text="Done", callback_data=button_data(Action.DONE, response_id, index))]
            )
    if ask.can_skip:
        rows.append(
            [Button(text="Skip", callback_data=button_data(Action.SKIP, response_id, index))]
        )
    return Keyboard.of(rows) if rows else None


def _page_row(
    action: Action, response_id: int, question: int, page: int, count: int
) -> list[Button]:
    """The "Back" and "More…" buttons between the pages of a list (`action`: whose)."""
    row: list[Button] = []
    if page > 0:
        data = button_data(action, response_id, question, page - 1)
        row.append(Button(text=PREVIOUS, callback_data=data))
    if page < count - 1:
        data = button_data(action, response_id, question, page + 1)
        row.append(Button(text=MORE, callback_data=data))
    return row


def _option_label(label: str, selected: bool, multiple: bool) -> str:
    if multiple:
        return (SELECTED_MARK if selected else UNSELECTED_MARK) + label
    return SELECTED_MARK + label if selected else label


def _layout(buttons: list[Button], *, one_row: bool) -> list[list[Button]]:
    if one_row:
        rows = -(-len(buttons) // MAX_ROW)
        per_row = -(-len(buttons) // rows)  # 0 to 10: 6 and 5, not 8 and 3
        return [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]
    longest = max(len(button.text) for button in buttons)
    per_row = 3 if longest <= SHORT_LABEL else 2 if longest <= LONG_LABEL else 1
    return [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]


def answered_text(ask: Ask, display: str, *, show_section: bool = False) -> str:
    """A question message once answered: the question, then "→ answer", no buttons.

    A long answer is cut so that the edited message stays within Telegram's limit (the
    answer itself is stored whole, and the review shows it whole).
    """
    text = ask_text(ask, show_section=show_section, instructions=False)
    # Measured on the HTML source, which is never shorter than the text Telegram counts.
    room = MAX_MESSAGE_CHARS - telegram_length(text) - telegram_length("\n→ ")
    return f"{text}\n→ {escape(clip(display, room))}"


def review_pages(review: ReviewSummary) -> list[range]:
    """The answers (by place) each page of the review shows."""
    return pages(len(review.items), size=REVIEW_PAGE_SIZE, most=REVIEW_PAGE_SIZE + 1)


def review_page_of(review: ReviewSummary, question_id: str | None) -> int:
    """The review page showing the answer to `question_id` (0 when it shows none)."""
    places = [i for i, item in enumerate(review.items) if item.question_id == question_id]
    if not places:
        return 0
    return next(n for n, span in enumerate(review_pages(review)) if places[0] in span)


def render_review(
    review: ReviewSummary,
    *,
    interview: Interview,
    response_id: int,
    editable: bool = True,
    page: int = 0,
) -> list[Outgoing]:
    """One page of the review: its answers as their labels, an Edit button for each
    (named by the question, never by a number that moves), then Submit.

    A review from the middle of the interview has no Submit (the current question
    follows); a review of submitted answers has no Edit buttons. Consent has no Edit
    button: /forget withdraws it. A page is one message, split only if labels of an
    uploaded interview are huge (the buttons then go on the last).
    """
    spans = review_pages(review)
    page = min(max(page, 0), len(spans) - 1)
    editable = editable and not review.submitted
    if not editable:
        heading, footer = "<b>The answers you submitted</b>", "Send /restart to answer again."
    elif review.complete:
        heading = "<b>Your answers</b>"
        footer = "Tap a question to change its answer, or <b>Submit</b> to send them."
    else:
        heading = "<b>Your answers so far</b>"
        footer = "Tap a question to change its answer."
    if len(spans) > 1:
        heading += f" <i>(page {page + 1} of {len(spans)})</i>"
    items = [review.items[i] for i in spans[page]]
    blocks = [_review_block(item, review) for item in items] or ["No answers yet."]
    texts = split_text([heading, *blocks, footer])
    rows: list[list[Button]] = []
    if editable:
        rows.extend(
            [
                Button(
                    text=EDIT_MARK + clip(item.short_label or item.label, MAX_EDIT_LABEL),
                    callback_data=button_data(
                        Action.EDIT, response_id, interview.position[item.question_id]
                    ),
                )
            ]
            for item in items
            if item.editable and item.question_id in interview.position
        )
    if len(spans) > 1:
        rows.append(_page_row(Action.REVIEW_PAGE, response_id, NO_INDEX, page, len(spans)))
    if editable and review.complete:
        submit = button_data(Action.SUBMIT, response_id, NO_INDEX, page)
        rows.append([Button(text="Submit", callback_data=submit)])
    messages = [Outgoing(text=text) for text in texts]
    if rows:
        keyboard = Keyboard.of(rows)
        messages[-1] = Outgoing(text=messages[-1].text, keyboard=keyboard)
    return messages


def _review_block(item: ReviewItem, review: ReviewSummary) -> str:
    label = escape(clip(item.short_label or item.label, MAX_REVIEW_LABEL))
    block = f"<b>{label}</b>\n→ {escape(clip(item.display, MAX_REVIEW_ANSWER))}"
    if not item.editable and not review.submitted:  # consent: /forget withdraws it
        block += f"\n<i>{CONSENT_NOT_EDITABLE}</i>"
    return block


def render_completed(*, response_id: int) -> Outgoing:
    """Thanks after submission, with a button to look at the answers again."""
    return Outgoing(
        text=(
            "Thank you! Your answers have been submitted.\n"
            "You can look at them again below, or send /restart to answer again."
        ),
        keyboard=Keyboard.of(
            [
                [
                    Button(
                        text="Review my answers",
                        callback_data=button_data(Action.REVIEW, response_id),
                    )
                ]
            ]
        ),
    )


def confirm_keyboard(
    *, yes: Action, no: Action, response_id: int, labels: tuple[str, str] = ("Yes", "No")
) -> Keyboard:
    """The two buttons confirming /restart or /forget (`labels`: what each does)."""
    return Keyboard.of(
        [
            [
                Button(text=labels[0], callback_data=button_data(yes, response_id)),
                Button(text=labels[1], callback_data=button_data(no, response_id)),
            ]
        ]
    )


def _fitting(text: str, units: int) -> int:
    """How many characters of `text` from the start fit in `units` UTF-16 code units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > units:
            return index
    return len(text)


def clip(text: str, units: int) -> str:
    """The plain text cut to at most `units` UTF-16 code units, with "…" when cut."""
    if telegram_length(text) <= units:
        return text
    return text[: _fitting(text, max(units - 1, 0))] + ELLIPSIS


def split_text(blocks: Sequence[str], *, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """Join blocks with blank lines into as few messages as fit under `limit` UTF-16 units.

    A block longer than the limit on its own is cut at line ends (or hard, as a last
    resort), so nothing is ever dropped.
    """
    pieces: list[str] = []
    for block in blocks:
        while telegram_length(block) > limit:
            end = _fitting(block, limit)
            cut = block.rfind("\n", 0, end)
            if cut <= 0:  # no line end: cut hard, but never inside an HTML entity
                amp = block.rfind("&", max(end - 8, 0), end)
                cut = amp if amp > 0 and ";" not in block[amp:end] else end
            pieces.append(block[:cut])
            block = block[cut:].lstrip("\n")
        pieces.append(block)
    messages: list[str] = []
    current = ""
    for piece in pieces:
        candidate = f"{current}\n\n{piece}" if current else piece
        if telegram_length(candidate) <= limit:
            current = candidate
        else:
            messages.append(current)
            current = piece
    if current or not messages:
        messages.append(current)
    return messages


def _label_and_hint(label: str, hint: str | None, *, bold: bool = False) -> str:
    text = f"<b>{escape(label)}</b>" if bold else escape(label)
    if hint:
        text += f"\n<i>{escape(hint)}</i>"
    return text


# The labels of follow-up messages' buttons.
CONTINUE_LABEL = "Continue"
STOP_LABEL = "No more messages"
RESUME_LABEL = "Send me messages again"
START_LABEL = "Start"


def no_more_messages_button(employer_id: int) -> Button:
    """The "No more messages" button every outbound message that is not a reply carries
    (broadcasts, reminders, round invitations): one tap opts the employer out."""
    return Button(STOP_LABEL, follow_up_data(FollowUpAction.STOP, employer_id))


def no_more_messages_keyboard(employer_id: int) -> Keyboard:
    """A keyboard with only the "No more messages" button (broadcasts)."""
    return Keyboard.of([[no_more_messages_button(employer_id)]])


def messages_setting_keyboard(employer_id: int, *, opted_out: bool) -> Keyboard:
    """The setting in /help: "No more messages", or "Send me messages again" once out."""
    if not opted_out:
        return no_more_messages_keyboard(employer_id)
    button = Button(RESUME_LABEL, follow_up_data(FollowUpAction.RESUME, employer_id))
    return Keyboard.of([[button]])
