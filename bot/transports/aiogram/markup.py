"""The core's keyboards as aiogram's markup."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.core.messages import Keyboard


def to_markup(keyboard: Keyboard | None) -> InlineKeyboardMarkup | None:
    """aiogram's `InlineKeyboardMarkup` for a core keyboard (None stays None: no buttons)."""
    if keyboard is None:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=button.text, callback_data=button.callback_data)
                for button in row
            ]
            for row in keyboard.inline_keyboard
        ]
    )
