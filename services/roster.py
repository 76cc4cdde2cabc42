"""Roster import from CSV (as Excel saves it) or XLSX: every bad row listed, all or nothing."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from liaison.services.access import withdraw
from liaison.services.audit import record
from liaison.services.dates import parse_day_and_clock
from liaison.services.emails import normalise_email
from liaison.services.errors import InvalidDate
from liaison.services.phones import normalise_phone
from liaison.services.programmes.document import Problem
from liaison.services.programmes.settings import settings_of
from liaison.services.selection.results import put_result
from liaison.services.selection.roster_results import roster_readings
from liaison.services.submissions.errors import UnknownAssignment
from liaison.services.submissions.extensions import (
    assignment_by_key,
    extended_due,
    set_extension,
)
from liaison.services.timezones import canonical_timezone
from liaison.storage.database import Database
from liaison.storage.enums import PersonStatus, ResultSource, Role
from liaison.storage.models import Person, Programme

# Column names as organizers write them, in English or Chinese.
HEADER_ALIASES = {
    "name": "name",
    "姓名": "name",
    "unit": "unit",
    "单位": "unit",
    "工作单位": "unit",
    "position": "position",
    "职务": "position",
    "phone": "phone",
    "电话": "phone",
    "手机": "phone",
    "手机号": "phone",
    "email": "email",
    "e-mail": "email",
    "邮箱": "email",
    "电子邮件": "email",
    "电子邮箱": "email",
    "role": "role",
    "角色": "role",
    "locale": "locale",
    "语言": "locale",
    "timezone": "timezone",
    "time zone": "timezone",
    "时区": "timezone",
    "test_batch": "test_batch",
    "批次": "test_batch",
    "测试批次": "test_batch",
    "english_score": "english_score",
    "英语成绩": "english_score",
    "bft_level": "bft_level",
    "bft": "bft_level",
    "bft等级": "bft_level",
    "status": "status",
    "状态": "status",
    "notes": "notes",
    "备注": "notes",
    "extensions": "extensions",
    "延期": "extensions",
}
REQUIRED = ("name", "phone")
ROLE_ALIASES = {"学员": Role.CADRE, "组织者": Role.ORGANIZER, "观察员": Role.OBSERVER}
LOCALE_ALIASES = {
    "zh": "zh_CN",
    "zh_cn": "zh_CN",
    "zh-cn": "zh_CN",
    "中文": "zh_CN",
    "en": "en",
    "english": "en",
    "英文": "en",
}


class RosterError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class RosterRow:
    line: int
    name: str
    unit: str | None
    position: str | None
    phone: str
    role: Role
    locale: str | None
    timezone: str | None
    test_batch: int | None
    english_score: float | None
    bft_level: str | None
    status: PersonStatus
    notes: str | None
    email: str | None = None
    # Assignment key → (local date, local time or None): "stage-1=2026-11-10 22:00; paper=…"
    extensions: dict[str, tuple[date, time | None]] = field(default_factory=dict)


_EXTENSION_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def parse_extensions(text: str) -> dict[str, tuple[date, time | None]]:
    """Reads "stage-1=2026-11-10 22:00; paper=2027-03-25"; raises ValueError naming the part."""
    found: dict[str, tuple[date, time | None]] = {}
    for part in filter(None, (p.strip() for p in re.split(r"[;；]", text))):
        key, equals, when = (piece.strip() for piece in part.partition("="))
        if not equals or not _EXTENSION_KEY.match(key):
            raise ValueError(part)
        try:
            found[key] = parse_day_and_clock(when)
        except InvalidDate:
            raise ValueError(part) from None
    return found


@dataclass(frozen=True)
class RosterResult:
    created: int
    updated: int
    results: int = 0
    # People no longer on the roster: now withdrawn, their Telegram accounts unlinked.
    withdrawn: list[str] = field(default_factory=list)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _read_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        workbook = load_workbook(path, read_only=True, data_only=True)
        try:
            sheet = workbook.worksheets[0]
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, [_cell(v) for v in values]
        finally:
            workbook.close()
        return
    text = path.read_bytes().decode("utf-8-sig")
    for number, values in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
        yield number, [v.strip() for v in values]


def parse_roster(path: Path, default_region: str = "CN") -> list[RosterRow]:
    """Reads and checks every row; raises RosterError listing each bad row and why."""
    name = path.name
    try:
        rows = list(_read_rows(path))
    except UnicodeDecodeError:
        raise RosterError([Problem(name, None, "", "not UTF-8 text; save as CSV UTF-8")]) from None
    except (OSError, ValueError, KeyError) as exc:
        raise RosterError([Problem(name, None, "", f"cannot read roster: {exc}")]) from None
    rows = [(n, values) for n, values in rows if any(values)]
    if not rows:
        raise RosterError([Problem(name, None, "", "the roster is empty")])
    header_line, header = rows[0]
    columns: dict[str, int] = {}
    problems: list[Problem] = []
    for index, title in enumerate(header):
        key = HEADER_ALIASES.get(title.strip().lower())
        if key is None and title.strip():
            problems.append(Problem(name, header_line, "", f"unknown column {title!r}"))
        elif key is not None:
            columns[key] = index
    for required in REQUIRED:
        if required not in columns:
            problems.append(Problem(name, header_line, "", f"missing column {required!r}"))
    if problems:
        raise RosterError(problems)

    parsed: list[RosterRow] = []
    phones_seen: dict[str, int] = {}
    for line, values in rows[1:]:

        def get(column: str, values: list[str] = values) -> str:
            index = columns.get(column)
            return values[index].strip() if index is not None and index < len(values) else ""

        reasons: list[str] = []
        person_name = get("name")
        if not person_name:
            reasons.append("name is empty")
        raw_phone = get("phone")
        phone = normalise_phone(raw_phone, default_region) if raw_phone else None
        if not raw_phone:
            reasons.append("phone is empty")
        elif phone is None:
            reasons.append(f"phone {raw_phone!r} is not a valid number")
        elif phone in phones_seen:
            reasons.append(f"phone {raw_phone!r} duplicates row {phones_seen[phone]}")
        else:
            phones_seen[phone] = line
        raw_email = get("email")
        email = normalise_email(raw_email) if raw_email else None
        if raw_email and email is None:
            reasons.append(f"email {raw_email!r} is not a valid address")
        raw_role = get("role").lower() or Role.CADRE
        role = ROLE_ALIASES.get(raw_role) or (
            Role(raw_role) if raw_role in Role._value2member_map_ else None
        )
        if role is None:
            reasons.append(f"role {raw_role!r} is not cadre, organizer or observer")
        raw_locale = get("locale")
        locale = LOCALE_ALIASES.get(raw_locale.lower()) if raw_locale else None
        if raw_locale and locale is None:
            reasons.append(f"locale {raw_locale!r} is not zh_CN or en")
        raw_zone = get("timezone")
        zone_name = canonical_timezone(raw_zone) if raw_zone else None
        if raw_zone and zone_name is None:
            reasons.append(f"time zone {raw_zone!r} is unknown (e.g. America/New_York)")
        batch: int | None = None
        if get("test_batch"):
            try:
                batch = int(get("test_batch"))
            except ValueError:
                reasons.append(f"test_batch {get('test_batch')!r} is not a whole number")
        score: float | None = None
        if get("english_score"):
            try:
                score = float(get("english_score"))
            except ValueError:
                reasons.append(f"english_score {get('english_score')!r} is not a number")
        raw_status = get("status").lower() or PersonStatus.SELECTED
        if raw_status not in PersonStatus._value2member_map_:
            allowed = ", ".join(s.value for s in PersonStatus)
            reasons.append(f"status {raw_status!r} is not one of {allowed}")
        extensions: dict[str, tuple[date, time | None]] = {}
        try:
            extensions = parse_extensions(get("extensions"))
        except ValueError as exc:
            reasons.append(f"extension {str(exc)!r} is not KEY=YYYY-MM-DD or KEY=YYYY-MM-DD HH:MM")
        if reasons:
            problems.extend(Problem(name, line, "", reason) for reason in reasons)
            continue
        assert phone is not None and role is not None
        parsed.append(
            RosterRow(
                line=line,
                name=person_name,
                unit=get("unit") or None,
                position=get("position") or None,
                phone=phone,
                role=role,
                locale=locale,
                timezone=zone_name,
                test_batch=batch,
                english_score=score,
                bft_level=get("bft_level") or None,
                status=PersonStatus(raw_status),
                notes=get("notes") or None,
                email=email,
                extensions=extensions,
            )
        )
    if problems:
        raise RosterError(problems)
    return parsed


def _dropped(people: list[Person], rows: list[RosterRow]) -> list[Person]:
    """People of the programme no longer on the roster who still have access or a link."""
    phones = {row.phone for row in rows}
    return [
        person
        for person in people
        if person.phone not in phones
        and (person.status is not PersonStatus.WITHDRAWN or person.telegram_user_id is not None)
    ]


async def missing_from_roster(
    db: Database, programme_id: str, path: Path, default_region: str = "CN"
) -> list[str]:
    """Who an import of this file would withdraw (to ask before doing it); writes nothing."""
    rows = parse_roster(path, default_region)
    async with db.read() as session:
        people = list(
            await session.scalars(select(Person).where(Person.programme_id == programme_id))
        )
    return [person.name for person in _dropped(people, rows)]


async def import_roster(
    db: Database,
    programme_id: str,
    path: Path,
    default_region: str = "CN",
    *,
    now: datetime | None = None,
) -> RosterResult:
    """Creates or updates people by phone in one transaction; enrolment links are kept.

    Scores and levels in the roster's columns become test results where the programme
    file declares the tests they belong to; each changed result is audited. The roster
    is also the list of who takes part: people of the programme missing from it (dropped,
    or listed under a new phone number) are withdrawn and their Telegram accounts
    unlinked, so they lose access and a changed number can be enrolled again.
    """
    rows = parse_roster(path, default_region)
    now = now or datetime.now(UTC)
    async with db.transaction() as session:
        programme = await session.get(Programme, programme_id)
        if programme is None:
            raise RosterError(
                [Problem(path.name, None, "", f"no programme {programme_id!r}; load it first")]
            )
        selection = settings_of(programme).selection
        everyone = list(
            await session.scalars(select(Person).where(Person.programme_id == programme_id))
        )
        # Unlink the dropped first: a new entry may be enrolled by the same account.
        withdrawn = await withdraw(session, _dropped(everyone, rows), now)
        await session.flush()
        existing = {person.phone: person for person in everyone}
        created = updated = results = 0
        problems: list[Problem] = []
        for row in rows:
            person = existing.get(row.phone)
            if person is None:
                person = Person(programme_id=programme_id, phone=row.phone)
                session.add(person)
                created += 1
            else:
                updated += 1
            person.name, person.unit, person.position = row.name, row.unit, row.position
            person.role = row.role
            person.locale = row.locale or person.locale
            person.timezone = row.timezone or person.timezone
            person.test_batch, person.english_score = row.test_batch, row.english_score
            person.bft_level, person.status = row.bft_level, row.status
            person.notes = row.notes
            person.email = row.email
            readings, reasons = roster_readings(
                selection, row.english_score, row.test_batch, row.bft_level
            )
            problems += [Problem(path.name, row.line, "", reason) for reason in reasons]
            if row.extensions or readings:
                await session.flush()
            for test, reading in readings:
                changed, _previous = await put_result(
                    session,
                    person,
                    test,
                    reading,
                    source=ResultSource.ROSTER,
                    entered_by=None,
                    now=now,
                    origin={"file": path.name, "line": row.line},
                )
                results += changed
            if row.extensions:
                problems += await _apply_extensions(session, programme_id, person, row, path.name)
        if problems:
            raise RosterError(problems)
        await record(
            session,
            "roster.imported",
            programme_id=programme_id,
            details={
                "file": path.name,
                "created": created,
                "updated": updated,
                "results": results,
                "withdrawn": len(withdrawn),
            },
            at=now,
        )
    return RosterResult(created, updated, results, withdrawn)


async def _apply_extensions(
    session: AsyncSession, programme_id: str, person: Person, row: RosterRow, file: str
) -> list[Problem]:
    problems = []
    for key, (day, at) in row.extensions.items():
        try:
            assignment = await assignment_by_key(session, programme_id, key)
        except UnknownAssignment:
            problems.append(
                Problem(file, row.line, "", f"extension for unknown assignment {key!r}")
            )
            continue
        try:
            due = extended_due(assignment, day, at)
        except InvalidDate as exc:
            problems.append(Problem(file, row.line, "", f"extension for {key!r}: {exc}"))
            continue
        await set_extension(session, assignment, person.id, due)
    return problems
