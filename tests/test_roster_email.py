"""The roster's e-mail column: English and Chinese headers, checked addresses, rows named."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from liaison.services.emails import normalise_email
from liaison.services.programmes.loading import load_programme
from liaison.services.roster import RosterError, import_roster
from liaison.storage.database import Database
from liaison.storage.models import Person
from tests.conftest import PROGRAMME_FILE, PROGRAMME_ID


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("chen@Example.GOV.cn", "chen@example.gov.cn"),
        (" <liu.y+digest@mail.jinjiang.gov.cn> ", "liu.y+digest@mail.jinjiang.gov.cn"),
        ("chen@锦江.中国", "chen@锦江.中国"),
    ],
)
def test_email_valid_address_is_normalised(raw: str, expected: str) -> None:
    assert normalise_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "chen",
        "chen@",
        "@example.com",
        "chen@example",
        "a b@example.com",
        "x@-a.com",
        "a@1.2",
        "王@锦江.中国",
    ],
)
def test_email_invalid_address_is_refused(raw: str) -> None:
    assert normalise_email(raw) is None


@pytest.mark.parametrize("header", ["email", "邮箱", "电子邮件", "E-mail"])
async def test_roster_email_column_in_either_language_is_stored(
    db: Database, tmp_path: Path, header: str
) -> None:
    await load_programme(db, PROGRAMME_FILE)
    path = tmp_path / "roster.csv"
    path.write_text(
        f"name,phone,role,{header}\n陈组织,139 0000 2001,organizer,Chen@Jinjiang.gov.cn\n"
        "张伟,138 0000 1001,cadre,\n",
        encoding="utf-8-sig",
    )
    await import_roster(db, PROGRAMME_ID, path)
    async with db.read() as session:
        emails = dict((await session.execute(select(Person.name, Person.email))).tuples().all())
    assert emails == {"陈组织": "Chen@jinjiang.gov.cn", "张伟": None}


async def test_roster_invalid_email_names_the_row_and_writes_nothing(
    db: Database, tmp_path: Path
) -> None:
    await load_programme(db, PROGRAMME_FILE)
    path = tmp_path / "roster.csv"
    path.write_text(
        "姓名,手机,邮箱\n"
        "陈组织,139 0000 2001,chen@jinjiang.gov.cn\n"
        "李娜,138 0000 1002,lina at gov\n",
        encoding="utf-8",
    )
    with pytest.raises(RosterError) as caught:
        await import_roster(db, PROGRAMME_ID, path)
    assert [str(p) for p in caught.value.problems] == [
        "roster.csv:3: email 'lina at gov' is not a valid address"
    ]
    async with db.read() as session:
        assert list(await session.scalars(select(Person))) == []
