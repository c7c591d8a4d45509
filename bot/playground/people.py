"""The people one can be in the playground: employers, staff, an analyst and an admin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["admin", "staff", "analyst"]


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


PEOPLE: tuple[Person, ...] = (
    Person(
        "employer-a", 710_001, "Employer A", "Alex", None, "an employer answering the interview"
    ),
    Person(
        "employer-b",
        710_002,
        "Employer B",
        "Bea",
        None,
        "a second employer, with a chat of their own",
    ),
    Person("employer-c", 710_003, "Employer C", "Chris", None, "a third employer"),
    Person(
        "staff", 720_001, "Staff member", "Sam", "staff", "Chamber staff: follow-ups and broadcasts"
    ),
    Person("analyst", 730_001, "Analyst", "Ana", "analyst", "reads summaries and exports"),
    Person("admin", 740_001, "Admin", "Adi", "admin", "manages staff roles"),
)


def person_by_key(key: str) -> Person | None:
    """The playground person with this key, or None."""
    return next((person for person in PEOPLE if person.key == key), None)


def person_named(key: str) -> Person:
    """The playground person with this key; raises `LookupError` for an unknown key."""
    found = person_by_key(key)
    if found is None:
        raise LookupError(f"no playground person {key!r}")
    return found
