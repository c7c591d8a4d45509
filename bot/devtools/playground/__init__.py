"""The browser playground: the real bot against the fake Telegram, with a chat page.

``skillsbot playground`` (and ``skillsbot run`` without a token) starts three parts in one
process: the fake Bot API (``bot.devtools.fake_telegram``), the real bot on a webhook the fake
pushes to (as in production), and an aiohttp web app whose page lets staff chat with the
bot as different people.
"""

from bot.devtools.playground.app import playground_app
from bot.devtools.playground.people import PEOPLE, Person

__all__ = ["PEOPLE", "Person", "playground_app"]
