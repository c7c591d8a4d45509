"""Invite tokens, deep links, campaign links, QR codes and the invite list file."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import pytest
from PIL import Image
from pydantic import ValidationError

from bot.core.invites import (
    INVITE_SOURCE,
    BadCampaignName,
    BotUsernameError,
    bot_username,
    campaign_payload,
    deep_link,
    is_start_parameter,
    new_invite_token,
    qr_file_name,
    take_start_payload,
    write_invites_csv,
    write_qr_png,
)
from bot.devtools.fake_telegram import FakeTelegram
from bot.settings import NO_TOKEN, Settings
from storage import Engine, Session, employer_for_telegram, utcnow
from storage.roster import Invite, RosterEntry, import_roster, issue_invites, token_hash


def test_invite_tokens_are_unique_valid_start_parameters() -> None:
    tokens = {new_invite_token() for _ in range(2000)}
    assert len(tokens) == 2000
    assert all(is_start_parameter(token) and len(token) <= 64 for token in tokens)
    assert all(len(token) >= 32 for token in tokens)  # 192 random bits


def test_deep_links_carry_the_payload() -> None:
    assert deep_link("@skillsbot_test_bot", "abc_DEF-1") == (
        "https://t.me/skillsbot_test_bot?start=abc_DEF-1"
    )
    for bad in ["", "has space", "x" * 65, "sl/ash", "emoji🙂"]:
        with pytest.raises(ValueError, match="start payload"):
            deep_link("skillsbot_test_bot", bad)


@pytest.mark.parametrize(
    ("name", "payload"),
    [
        ("Spring Newsletter 2026", "c-spring-newsletter-2026"),
        ("  Ely Jobs Fair!! ", "c-ely-jobs-fair"),
        ("Café & Co. breakfast", "c-cafe-co-breakfast"),
    ],
)
def test_campaign_payloads_are_slugs(name: str, payload: str) -> None:
    assert campaign_payload(name) == payload


def test_long_campaign_names_still_fit_telegrams_limit() -> None:
    payload = campaign_payload("A very long event name " * 10)
    assert is_start_parameter(payload)
    assert payload.startswith("c-a-very-long-event-name")


def test_campaign_names_without_letters_are_refused() -> None:
    with pytest.raises(BadCampaignName, match="needs some letters or digits"):
        campaign_payload("!!! ???")


# (stored, written): formulas behind blanks, invisible or control characters, and plain text
# holding control characters, which the file loses.
HIDDEN_FORMULAS = [
    ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
    ("+44 1223", "'+44 1223"),
    ("-1", "'-1"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"),
    (' =HYPERLINK("http://evil.example")', '\' =HYPERLINK("http://evil.example")'),
    ("\u200b=1+1", "'\u200b=1+1"),
    ("\x01=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
    ("\x1f\x02+SUM(1,2)", "'+SUM(1,2)"),
    ("Fen\x07 Bakery", "Fen Bakery"),
    ("fine = good", "fine = good"),
]


def test_invite_csv_cells_hide_no_formula_and_hold_no_control_character(tmp_path: Path) -> None:
    invites = [
        Invite(employer_id=n, organisation=text, contact_name=text, email=text, token=f"tok_{n}")
        for n, (text, _) in enumerate(HIDDEN_FORMULAS)
    ]
    path = tmp_path / "invites.csv"
    assert write_invites_csv(path, invites, bot_username="skillsbot_test_bot") == len(invites)
    with path.open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.reader(file))
    assert rows[1:] == [
        [written, written, written, f"https://t.me/skillsbot_test_bot?start=tok_{n}"]
        for n, (_, written) in enumerate(HIDDEN_FORMULAS)
    ]


def test_invite_csv_lists_contact_and_link(tmp_path: Path) -> None:
    invites = [
        Invite(
            employer_id=1,
            organisation="=cmd|' /C calc'!A0",
            contact_name="Anna",
            email="anna@fen.example",
            token="tok_1",
        ),
        Invite(
            employer_id=2, organisation="Ely Builders", contact_name=None, email=None, token="tok-2"
        ),
    ]
    path = tmp_path / "invites.csv"
    assert write_invites_csv(path, invites, bot_username="skillsbot_test_bot") == 2
    with path.open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.reader(file))
    assert rows == [
        ["organisation", "contact", "email", "link"],
        [
            "'=cmd|' /C calc'!A0",
            "Anna",
            "anna@fen.example",
            "https://t.me/skillsbot_test_bot?start=tok_1",
        ],
        ["Ely Builders", "", "", "https://t.me/skillsbot_test_bot?start=tok-2"],
    ]


def test_qr_codes_are_png_images_named_by_id_and_organisation(tmp_path: Path) -> None:
    name = qr_file_name(42, "Café Nero (Ely) / Cambs")
    assert name == "00042-cafe-nero-ely-cambs.png"
    assert qr_file_name(7, None) == "00007-employer.png"
    path = tmp_path / name
    write_qr_png("https://t.me/skillsbot_test_bot?start=" + new_invite_token(), path)
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.width == image.height
        assert image.width > 100


def _settings(**values: str) -> Settings:
    """Settings from these values only (no `.env`; the token's stand-in when none is given)."""
    values.setdefault("TELEGRAM_BOT_TOKEN", NO_TOKEN)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_username_comes_from_the_setting_first() -> None:
    assert bot_username(_settings(TELEGRAM_BOT_USERNAME="@lsip_cambs_bot")) == "lsip_cambs_bot"
    with pytest.raises(ValidationError, match="TELEGRAM_BOT_USERNAME"):
        _settings(TELEGRAM_BOT_USERNAME="no spaces allowed")
    with pytest.raises(BotUsernameError, match="set TELEGRAM_BOT_USERNAME"):
        bot_username(_settings())


async def test_username_is_asked_of_get_me_otherwise() -> None:
    async with FakeTelegram(token="4242:SECRET-part", bot_username="lsip_fake_bot") as fake:
        environ = {"TELEGRAM_BOT_TOKEN": "4242:SECRET-part", "TELEGRAM_API_URL": fake.base_url}
        assert await asyncio.to_thread(bot_username, _settings(**environ)) == "lsip_fake_bot"
        wrong = _settings(**{**environ, "TELEGRAM_BOT_TOKEN": "4242:WRONG"})
        with pytest.raises(BotUsernameError, match="token was refused") as caught:
            await asyncio.to_thread(bot_username, wrong)
        assert "WRONG" not in str(caught.value)


def test_an_unreachable_api_is_one_clear_line() -> None:
    environ = {"TELEGRAM_BOT_TOKEN": "1:SECRET", "TELEGRAM_API_URL": "http://127.0.0.1:9"}
    with pytest.raises(BotUsernameError, match="cannot reach") as caught:
        bot_username(_settings(**environ), timeout=2)
    assert "SECRET" not in str(caught.value)


def test_no_invite_token_begins_like_a_campaign(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn = iter(["c-" + "A" * 30, "c-" + "B" * 30, "x" * 32])
    monkeypatch.setattr("bot.core.invites.secrets.token_urlsafe", lambda _n: next(drawn))
    assert new_invite_token() == "x" * 32


def test_an_invite_token_beginning_like_a_campaign_opens_its_invite(engine: Engine) -> None:
    """A token issued before tokens avoided `c-` (one in 4,096 did) is still an invite: it is
    opened, and the response's source is `invite`, never the token (issue 19, item 4)."""
    token = "c-" + "Q" * 30
    with Session(engine) as session, session.begin():
        import_roster(session, entries=[RosterEntry(organisation="Fen Bakery")], now=utcnow())
        (invite,) = issue_invites(session, new_token=lambda: token, now=utcnow())
        person = employer_for_telegram(session, telegram_user_id=5005, chat_id=5005, now=utcnow())
        row, source = take_start_payload(session, employer=person, payload=token, now=utcnow())
        assert source == INVITE_SOURCE
        assert row.pending_invite_hash == token_hash(token)  # joined once they consent
        campaign, source = take_start_payload(
            session, employer=person, payload="c-ely-fair", now=utcnow()
        )
        assert source == "c-ely-fair"


def test_the_invite_list_and_qr_codes_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    """Each link answers as its employer: the files holding them are 0600, even a file that
    was there before with wider permissions."""
    invite = Invite(
        employer_id=1, organisation="Fen", contact_name=None, email=None, token=new_invite_token()
    )
    listing, qr = tmp_path / "invites.csv", tmp_path / "00001-fen.png"
    listing.write_text("old")
    listing.chmod(0o644)
    write_invites_csv(listing, [invite], bot_username="skillsbot_test_bot")
    write_qr_png(deep_link("skillsbot_test_bot", invite.token), qr)
    assert listing.stat().st_mode & 0o777 == 0o600
    assert qr.stat().st_mode & 0o777 == 0o600
    assert invite.token in listing.read_text(encoding="utf-8-sig")
    with Image.open(qr) as image:
        assert image.format == "PNG"
