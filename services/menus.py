"""Which people's command menus are out of date, and recording the ones set.

The menu itself (commands, translated texts) is the handlers' business; here it is only a
signature per (role, language), compared with what each person's row says was last set.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select, update

from liaison.storage.database import Database
from liaison.storage.enums import PersonStatus, Role
from liaison.storage.models import Person, Programme


@dataclass(frozen=True)
class StaleMenu:
    person_id: int
    chat_id: int
    role: Role
    locale: str


def _effective_locale() -> ColumnElement[str]:
    """The language a person's menu is in: their own, else their programme's."""
    default = (
        select(Programme.default_locale)
        .where(Programme.id == Person.programme_id)
        .scalar_subquery()
    )
    return func.coalesce(Person.locale, default)


async def stale_menus(db: Database, signatures: Mapping[tuple[Role, str], str]) -> list[StaleMenu]:
    """Everyone enrolled and reachable whose menu differs from the one for their role and
    language, in one query. A language without a signature always counts as different."""
    locale = func.coalesce(Person.locale, Programme.default_locale)
    expected = case(
        *[
            (and_(Person.role == role, locale == language), literal(signature))
            for (role, language), signature in signatures.items()
        ],
        else_=literal(""),
    )
    async with db.read() as session:
        rows = (
            await session.execute(
                select(Person.id, Person.telegram_chat_id, Person.role, locale)
                .join(Programme, Programme.id == Person.programme_id)
                .where(
                    Person.telegram_chat_id.is_not(None),
                    Person.unreachable_at.is_(None),
                    Person.status != PersonStatus.WITHDRAWN,
                    or_(Person.menu_signature.is_(None), Person.menu_signature != expected),
                )
                .order_by(Person.id)
            )
        ).all()
    return [
        StaleMenu(int(person_id), int(chat_id), role, str(language))
        for person_id, chat_id, role, language in rows
    ]


async def record_menus(db: Database, signature: str, person_ids: Iterable[int]) -> None:
    """Notes that these people's menus were set to ``signature`` (updated_at untouched)."""
    ids = list(person_ids)
    if not ids:
        return
    async with db.transaction() as session:
        await session.execute(
            update(Person)
            .where(Person.id.in_(ids))
            .values(menu_signature=signature, updated_at=Person.updated_at)
        )


async def record_menus_as_read(
    db: Database, signature: str, role: Role, locale: str, person_ids: Iterable[int]
) -> None:
    """Records menus set from rows read earlier (the pass at start): where the role or
    language changed meanwhile (a handler set and recorded the new menu, which the pass's
    call may have overwritten), the signature is cleared so the next start sets it again."""
    ids = list(person_ids)
    if not ids:
        return
    same = and_(Person.role == role, _effective_locale() == locale)
    async with db.transaction() as session:
        for values, condition in ((signature, same), (None, ~same)):
            await session.execute(
                update(Person)
                .where(Person.id.in_(ids), condition)
                .values(menu_signature=values, updated_at=Person.updated_at)
                .execution_options(synchronize_session=False)
            )
