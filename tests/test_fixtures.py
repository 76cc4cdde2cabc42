"""The database fixtures: each test starts from the same fresh state, whatever ran before."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from liaison.storage.base import Base
from liaison.storage.database import Database
from liaison.storage.models import Person, Programme
from tests.conftest import PROGRAMME_ID, fresh_postgres_db, seed, sqlite_copy


async def people(db: Database) -> list[tuple[int, str, str]]:
    async with db.read() as session:
        rows = await session.execute(
            select(Person.id, Person.name, Person.phone).order_by(Person.id)
        )
        return [(row.id, row.name, row.phone) for row in rows]


async def row_counts(db: Database) -> dict[str, int]:
    async with db.read() as session:
        return {
            table.name: int(await session.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
        }


async def make_a_mess(db: Database) -> None:
    """Rows in many tables, a changed row, and an id used up by a refused insert."""
    await seed(db)
    async with db.transaction() as session:
        person = await session.get_one(Person, 1)
        person.name = "changed"
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            session.add(Person(programme_id=PROGRAMME_ID, name=None, phone="+8613800009999"))


async def add_one_person(db: Database) -> int:
    async with db.transaction() as session:
        if await session.get(Programme, PROGRAMME_ID) is None:
            session.add(
                Programme(
                    id=PROGRAMME_ID,
                    title_zh="项目",
                    title_en="P",
                    home_timezone="Asia/Shanghai",
                    host_timezone="America/New_York",
                    default_locale="zh_CN",
                    settings={},
                )
            )
            await session.flush()
        person = Person(programme_id=PROGRAMME_ID, name="new", phone="+8613800008888")
        session.add(person)
        await session.flush()
        return person.id


@pytest.mark.postgres
async def test_emptied_postgres_database_has_no_rows_and_counts_ids_from_one(
    postgres_db: Database, postgres_url: str
) -> None:
    await make_a_mess(postgres_db)
    fresh = await fresh_postgres_db(postgres_url)
    try:
        assert set((await row_counts(fresh)).values()) == {0}
        assert await add_one_person(fresh) == 1
    finally:
        await fresh.dispose()


@pytest.mark.postgres
async def test_seeded_postgres_database_holds_what_the_seeded_sqlite_template_holds(
    postgres_db: Database, postgres_url: str, seeded_sqlite_db: Database
) -> None:
    await make_a_mess(postgres_db)
    fresh = await fresh_postgres_db(postgres_url, seeded=True)
    try:
        assert await row_counts(fresh) == await row_counts(seeded_sqlite_db)
        assert await people(fresh) == await people(seeded_sqlite_db)
    finally:
        await fresh.dispose()


async def test_sqlite_copies_of_the_template_do_not_share_writes(
    sqlite_db: Database, sqlite_templates: dict[str, Path], tmp_path: Path
) -> None:
    await make_a_mess(sqlite_db)
    (tmp_path / "again").mkdir()
    again = sqlite_copy(sqlite_templates["schema"], tmp_path / "again")
    try:
        assert set((await row_counts(again)).values()) == {0}
        assert await add_one_person(again) == 1
    finally:
        await again.dispose()
