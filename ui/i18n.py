"""Translations from the Babel catalogs, and dates and times shown in the reader's zone."""

from __future__ import annotations

import gettext
import io
from datetime import date, datetime, timedelta
from functools import cache, lru_cache
from importlib.resources import files
from pathlib import Path

from babel import Locale
from babel.dates import (
    format_date,
    format_datetime,
    format_skeleton,
    format_timedelta,
    get_timezone_location,
)
from babel.numbers import format_decimal

from liaison.services.people import SUPPORTED_LOCALES
from liaison.services.timezones import same_offset, zone

# The catalogs are package data: found the same way in a checkout and in an installed wheel.
LOCALES_DIR = Path(str(files("liaison.locales")))
DOMAIN = "messages"
HOME_ZONE_CITY = {"Asia/Shanghai": "Beijing", "Asia/Chongqing": "Beijing"}

__all__ = ["N_", "SUPPORTED_LOCALES", "Translator", "choose_locale", "translator"]


def N_(message: str) -> str:
    """Marks a text for extraction where it is defined; it is translated where it is shown."""
    return message


def locale_from_language_code(code: str | None) -> str | None:
    """Maps Telegram's IETF language_code ("zh-hans", "en-US") to a supported locale."""
    if not code:
        return None
    primary = code.replace("_", "-").split("-")[0].lower()
    return {"zh": "zh_CN", "en": "en"}.get(primary)


def choose_locale(
    person_locale: str | None,
    language_code: str | None,
    programme_default: str | None,
    fallback: str = "zh_CN",
) -> str:
    """The person's profile first, then Telegram's language, then the programme's default."""
    for candidate in (person_locale, locale_from_language_code(language_code), programme_default):
        if candidate in SUPPORTED_LOCALES:
            return candidate
    return fallback


@cache
def _translations(locale: str) -> gettext.NullTranslations:
    """Compiles the .po catalog in memory, so a stale .mo can never be served."""
    from babel.messages.mofile import write_mo  # loaded with the first catalog, not at import
    from babel.messages.pofile import read_po

    po_path = LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po_path.exists():
        return gettext.NullTranslations()
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


class Translator:
    """Texts, numbers, dates and times for one reader's locale.

    One per locale for the process (``translator``): Babel's formatting of days, clocks
    and cities is remembered per value, as /schedule shows the same ones to everyone.
    """

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self._babel = Locale.parse(locale)
        self._gettext = _translations(locale)

    def __call__(self, message: str) -> str:
        return self._gettext.gettext(message)

    def plural(self, singular: str, plural: str, count: int) -> str:
        return self._gettext.ngettext(singular, plural, count)

    def pick(self, zh: str, en: str | None) -> str:
        """Chooses the reader's side of a bilingual text stored in the database."""
        return zh if self.locale.startswith("zh") or not en else en

    def number(self, value: float) -> str:
        return str(format_decimal(value, locale=self._babel))

    @lru_cache(maxsize=4096)  # noqa: B019 - translators live as long as the process
    def day(self, value: date) -> str:
        """A date with weekday: "2014年9月2日周二" / "Tue, Sep 2, 2014"."""
        return str(format_skeleton("yMMMEd", value, locale=self._babel))

    @lru_cache(maxsize=4096)  # noqa: B019 - translators live as long as the process
    def short_day(self, value: date) -> str:
        return str(format_skeleton("MMMEd", value, locale=self._babel))

    def long_date(self, value: date) -> str:
        return str(format_date(value, format="long", locale=self._babel))

    @lru_cache(maxsize=4096)  # noqa: B019 - translators live as long as the process
    def clock(self, instant: datetime, zone_name: str) -> str:
        """Hours and minutes in a zone: "09:00"."""
        return str(format_datetime(instant, "HH:mm", tzinfo=zone(zone_name), locale=self._babel))

    @lru_cache(maxsize=4096)  # noqa: B019 - translators live as long as the process
    def weekday_clock(self, instant: datetime, zone_name: str) -> str:
        """Weekday and time in a zone: "周二 09:00" / "Tue 09:00"."""
        return str(
            format_datetime(instant, "EEE HH:mm", tzinfo=zone(zone_name), locale=self._babel)
        )

    def weekday_name(self, instant: datetime, zone_name: str) -> str:
        """The local weekday's name: "周二" / "Tuesday"."""
        return str(format_datetime(instant, "EEEE", tzinfo=zone(zone_name), locale=self._babel))

    def full(self, instant: datetime, zone_name: str) -> str:
        """Date and time in a zone: "9月2日周二 09:00" / "Tue, Sep 2 09:00"."""
        local = instant.astimezone(zone(zone_name))
        return f"{self.short_day(local.date())} {self.clock(instant, zone_name)}"

    def size(self, size: int) -> str:
        """A file size for people: "820 B", "1.2 KB", "3.4 MB"."""
        if size < 1024:
            return f"{self.number(size)} B"
        if size < 1024 * 1024:
            return f"{self.number(round(size / 1024, 1))} KB"
        return f"{self.number(round(size / 1024 / 1024, 1))} MB"

    def relative(self, delta: timedelta) -> str:
        """A span from now: "3天后" / "in 3 days", "2小时前" / "2 hours ago"."""
        return str(format_timedelta(delta, add_direction=True, locale=self._babel))

    @lru_cache(maxsize=4096)  # noqa: B019 - translators live as long as the process
    def city(self, zone_name: str) -> str:
        """A zone's city name in the reader's language; China's zone reads as Beijing."""
        home = HOME_ZONE_CITY.get(zone_name)
        if home is not None:
            return self(N_("Beijing"))
        return str(get_timezone_location(zone(zone_name), locale=self._babel, return_city=True))

    def with_other_zone(
        self, instant: datetime, reader_zone: str, other_zone: str, *, full: bool = False
    ) -> str:
        """Reader's local time with the other side's beside it: "周二 09:00（北京时间 21:00）"."""
        local = (
            self.full(instant, reader_zone) if full else self.weekday_clock(instant, reader_zone)
        )
        if same_offset(instant, reader_zone, other_zone):
            return local
        same_day = (
            instant.astimezone(zone(reader_zone)).date()
            == instant.astimezone(zone(other_zone)).date()
        )
        other = (
            self.clock(instant, other_zone) if same_day else self.weekday_clock(instant, other_zone)
        )
        return self(N_("{local} ({city} time {other})")).format(
            local=local, city=self.city(other_zone), other=other
        )


@cache
def translator(locale: str) -> Translator:
    return Translator(locale if locale in SUPPORTED_LOCALES else "zh_CN")
