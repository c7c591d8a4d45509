"""Message formatting as Telegram checks it: HTML parse mode, reply markup, command entities."""

from __future__ import annotations

import html
import re
from typing import Any

from bot.devtools.fake_telegram.errors import bad_request

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64

_HTML_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s[^<>]*)?)>")
_CHAR_REF = re.compile(r"&(lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")
_HREF = re.compile(r"""href\s*=\s*(?:"([^"]*)"|'([^']*)'|(\S+))""")
# As tdlib finds them: not inside a word, a path or an HTML-looking tag such as "</b>".
_COMMAND = re.compile(r"(?<![\w/<>])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])")
_INLINE_ACTIONS = (
    "callback_data",
    "url",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "callback_game",
    "pay",
    "web_app",
    "copy_text",
)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Text and entities of an HTML-formatted message; raises 400 where Telegram would."""
    out: list[str] = []
    entities: list[dict[str, Any]] = []
    open_tags: list[tuple[str, int, dict[str, Any]]] = []
    position = 0
    produced = 0  # UTF-16 length of the text so far
    while position < len(source):
        lt = source.find("<", position)
        chunk_end = len(source) if lt < 0 else lt
        chunk = _CHAR_REF.sub(lambda m: html.unescape(m.group(0)), source[position:chunk_end])
        out.append(chunk)
        produced += utf16_len(chunk)
        if lt < 0:
            break
        match = _TAG.match(source, lt)
        if match is None:
            word = re.match(r"</?([^\s>]*)", source[lt:])
            raise bad_request(
                "can't parse entities: Unsupported start tag "
                f'"{word.group(1) if word else ""}" at byte offset {_byte_offset(source, lt)}'
            )
        closing, tag, attributes = match.group(1) == "/", match.group(2).lower(), match.group(3)
        if tag not in _HTML_ENTITY_TYPES:
            kind = "end" if closing else "start"
            raise bad_request(
                f'can\'t parse entities: Unsupported {kind} tag "{tag}" at byte '
                f"offset {_byte_offset(source, lt)}"
            )
        if closing:
            if not open_tags or open_tags[-1][0] != tag:
                expected = f'"</{open_tags[-1][0]}>"' if open_tags else "none"
                raise bad_request(
                    f"can't parse entities: Unmatched end tag at byte offset "
                    f'{_byte_offset(source, lt)}, expected {expected}, found "</{tag}>"'
                )
            opened, start, details = open_tags.pop()
            if produced > start:
                entities.append(
                    {
                        "type": _HTML_ENTITY_TYPES[opened],
                        "offset": start,
                        "length": produced - start,
                        **details,
                    }
                )
        else:
            extra: dict[str, Any] = {}
            if tag == "a":
                href = _HREF.search(attributes)
                if href:
                    extra["url"] = html.unescape(next(g for g in href.groups() if g is not None))
            open_tags.append((tag, produced, extra))
        position = match.end()
    if open_tags:
        raise bad_request(
            f"can't parse entities: Can't find end tag corresponding to start "
            f'tag "{open_tags[-1][0]}"'
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def format_text(source: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Apply ``parse_mode``: HTML is parsed and checked; Markdown modes are kept verbatim."""
    if not parse_mode:
        return source, []
    if parse_mode.lower() == "html":
        return parse_html(source)
    if parse_mode.lower() in {"markdown", "markdownv2"}:
        return source, []
    raise bad_request(f'unsupported parse_mode "{parse_mode}"')


def command_entities(text: str) -> list[dict[str, Any]]:
    """The ``bot_command`` entities Telegram marks in a user's text."""
    return [
        {
            "type": "bot_command",
            "offset": utf16_len(text[: m.start()]),
            "length": utf16_len(m.group(0)),
        }
        for m in _COMMAND.finditer(text)
    ]


def check_reply_markup(markup: Any) -> dict[str, Any]:
    """Validate a reply_markup object as Telegram does and return it."""
    unparsable = bad_request("can't parse reply keyboard markup JSON object")
    if not isinstance(markup, dict):
        raise unparsable
    if "inline_keyboard" in markup:
        _check_inline_keyboard(markup["inline_keyboard"])
    elif "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request(
                'field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays'
            )
        for row in rows:
            for button in row:
                if not (
                    isinstance(button, str)
                    or (isinstance(button, dict) and isinstance(button.get("text"), str))
                ):
                    raise bad_request(
                        'can\'t parse keyboard button: Field "text" must be of type String'
                    )
    elif markup.get("remove_keyboard") is not True and markup.get("force_reply") is not True:
        raise unparsable
    return markup


def _check_inline_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
        )
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise bad_request(
                    'can\'t parse inline keyboard button: Field "text" must be of type String'
                )
            if not any(key in button for key in _INLINE_ACTIONS):
                raise bad_request(
                    "can't parse inline keyboard button: Text buttons are "
                    "unallowed in the inline keyboard"
                )
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                    raise bad_request("BUTTON_DATA_INVALID")
