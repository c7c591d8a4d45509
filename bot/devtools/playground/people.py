"""The people one can be in the playground: employers, staff, an analyst and an admin.

Their Telegram user ids are ones no real Telegram account can have, so the staff roles the
playground grants them could never let a real person in, whatever database they reached.
Telegram promises that a user id "has at most 52 significant bits" (Bot API, `User.id`), so
every id from 2**52 up is outside what Telegram gives a person. Negative ids were the other
choice, but Telegram uses them for groups and channels, a private chat's id is its user's
id (positive), and the fake Telegram, like Telegram, has only private chats with positive
ids. Ids between 2**52 and 2**53 are still exact as JSON numbers and JavaScript doubles
(the chat page), and fit the database's BIGINT columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["admin", "staff", "analyst"]

# Every playground person's id is this plus a small number: no real account has such an id.
IMPOSSIBLE_ID_BASE = 2**52


@dataclass(frozen=True, slots=True)
class Person:
    """Someone the page lets you act as: a Telegram user with their own private chat."""

    key: str  # used in the page's URLs, e.g. "employer-a"
    user_id: int
    name: str  # shown in the switcher
    first_name: str  # the Telegram first name the bot sees
    role: Role | None  # the staff role granted in the playground; None for employers
    description: str

    def to_json(self) -> dict[str, object]:
        """The person as the page's switcher needs them."""
        return {
            "key": self.key,
            "user_id": self.user_id,
            "name": self.name,
            "role": self.role,
            "description": self.description,
        }


def _impossible(number: int) -> int:
    return IMPOSSIBLE_ID_BASE + number


PEOPLE: tuple[Person, ...] = (
    Person(
        "employer-a",
        _impossible(710_001),
        "Employer A",
        "Alex",
        None,
        "an employer answering the interview",
    ),
    Person(
        "employer-b",
        _impossible(710_002),
        "Employer B",
        "Bea",
        None,
        "a second employer, with a chat of their own",
    ),
    Person("employer-c", _impossible(710_003), "Employer C", "Chris", None, "a third employer"),
    Person(
        "staff",
        _impossible(720_001),
        "Staff member",
        "Sam",
        "staff",
        "Chamber staff: follow-ups and broadcasts",
    ),
    Person(
        "analyst", _impossible(730_001), "Analyst", "Ana", "analyst", "reads summaries and exports"
    ),
    Person("admin", _impossible(740_001), "Admin", "Adi", "admin", "manages staff roles"),
)


def is_playground_id(user_id: int) -> bool:
    """True for an id only the playground's people have (no real Telegram account can)."""
    return IMPOSSIBLE_ID_BASE <= user_id < 2**53


def person_by_key(key: str) -> Person | None:
    """The playground person with this key, or None."""
    return next((person for person in PEOPLE if person.key == key), None)


def person_named(key: str) -> Person:
    """The playground person with this key; raises `LookupError` for an unknown key."""
    found = person_by_key(key)
    if found is None:
        raise LookupError(f"no playground person {key!r}")
    return found
