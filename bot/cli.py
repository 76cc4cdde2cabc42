"""The `liaison` command: run the bot, migrate, load programmes and rosters, issue codes."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

from liaison.bot.settings import Mode, Settings, SettingsError, load_settings
from liaison.services.clock import SystemClock
from liaison.services.programmes.document import DocumentError
from liaison.storage.database import Database

T = TypeVar("T")
log = logging.getLogger("liaison")
# A code is a password to someone's account: it should not outlive a programme's set-up.
MAX_CODE_DAYS = 365


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def _with_db(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    async def runner() -> T:
        db = Database.from_url(settings.database_url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(runner())


def _prepare_data_dir(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)


ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]


def webhook_options(settings: Settings) -> dict[str, Any]:
    """Where the webhook listens and what Telegram is told, from the settings."""
    hook = settings.webhook
    assert hook.url is not None
    return {
        "listen": hook.listen,
        "port": hook.port,
        "url_path": hook.path,
        "webhook_url": f"{hook.url.rstrip('/')}/{hook.path}",
        "secret_token": hook.secret_token.get_secret_value() if hook.secret_token else None,
        "allowed_updates": ALLOWED_UPDATES,
    }


@click.group()
def main() -> None:
    """Liaison: a Telegram bot for tracking overseas training programmes."""


@main.command()
@click.option("--no-migrate", is_flag=True, help="Do not upgrade the database schema first.")
def run(no_migrate: bool) -> None:
    """Runs the bot (long polling, or a webhook when LIAISON_MODE=webhook)."""
    from liaison.bot.application import build_application
    from liaison.bot.logging_setup import configure_logging
    from liaison.storage.migrate import upgrade

    settings = _settings()
    try:
        token = settings.require_token()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    secrets: tuple[str, ...] = (token,)
    if settings.webhook.secret_token is not None:
        secrets += (settings.webhook.secret_token.get_secret_value(),)
    configure_logging(settings.log_level, secrets)
    _prepare_data_dir(settings)
    if not no_migrate:
        upgrade(settings.database_url)
    app = build_application(settings, token=token)
    if settings.mode is Mode.WEBHOOK:
        app.run_webhook(**webhook_options(settings))
    else:
        app.run_polling(allowed_updates=ALLOWED_UPDATES)


@main.command()
@click.option(
    "--script",
    type=click.File("r", encoding="utf-8"),
    default=None,
    help="Read the lines from a file ('-' for standard input) instead of a prompt.",
)
def demo(script: Any) -> None:
    """Talks to the bot offline as any person of the sample programme (no token needed)."""
    from liaison.bot.sandbox.demo import run_demo

    settings = _settings()
    _prepare_data_dir(settings)
    logging.basicConfig(level=logging.WARNING)
    if script is None and not sys.stdin.isatty():
        script = sys.stdin
    asyncio.run(
        run_demo(settings.data_dir, script, click.echo, None if script is not None else input)
    )


@main.group()
def db() -> None:
    """Database schema migrations."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Upgrades the schema (to the latest revision by default)."""
    from liaison.storage.migrate import upgrade

    settings = _settings()
    _prepare_data_dir(settings)
    upgrade(settings.database_url, revision)
    click.echo(f"database at {revision}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Downgrades the schema to REVISION (e.g. base)."""
    from liaison.storage.migrate import downgrade

    downgrade(_settings().database_url, revision)
    click.echo(f"database at {revision}")


@main.group()
def programme() -> None:
    """Programme definition files."""


def _report(exc: DocumentError) -> None:
    for problem in exc.problems:
        click.echo(str(problem), err=True)
    count = len(exc.problems)
    raise click.ClickException(f"{count} problem{'s' if count != 1 else ''}; nothing written")


@programme.command("check")
@click.argument("file", type=click.Path(path_type=Path))
def programme_check(file: Path) -> None:
    """Validates FILE without writing anything."""
    from liaison.services.programmes.loading import plan_programme

    try:
        plan = plan_programme(file)
    except DocumentError as exc:
        _report(exc)
        return
    definition = plan.definition
    click.echo(
        f"{file.name}: ok — programme {definition.programme.id}: {len(definition.phases)} phases, "
        f"{len(plan.sessions)} sessions, {len(plan.assignments)} assignments, "
        f"{len(definition.surveys)} surveys"
    )


@programme.command("load")
@click.argument("file", type=click.Path(path_type=Path))
def programme_load(file: Path) -> None:
    """Validates FILE and writes it in one transaction (again: updates in place)."""
    from liaison.services.programmes.loading import load_programme
    from liaison.storage.migrate import upgrade

    settings = _settings()
    _prepare_data_dir(settings)
    upgrade(settings.database_url)
    try:
        result = _with_db(settings, lambda database: load_programme(database, file))
    except DocumentError as exc:
        _report(exc)
        return
    verb = "created" if result.created else "updated"
    counts = ", ".join(f"{n} {k}" for k, n in result.counts.items())
    click.echo(f"programme {result.programme_id} {verb}: {counts}")
    removed = {k: n for k, n in result.removed.items() if n}
    if removed:
        click.echo(
            "removed (no longer in the file): " + ", ".join(f"{n} {k}" for k, n in removed.items())
        )


@main.group()
def roster() -> None:
    """The people of a programme."""


@roster.command("import")
@click.option(
    "--programme", "programme_id", required=True, help="Programme id, e.g. jinjiang-2014."
)
@click.option("--yes", is_flag=True, help="Withdraw people missing from the file without asking.")
@click.argument("file", type=click.Path(path_type=Path))
def roster_import(programme_id: str, yes: bool, file: Path) -> None:
    """Imports a CSV (UTF-8, with or without BOM) or XLSX roster; all or nothing.

    People of the programme missing from FILE are withdrawn: their access ends and their
    Telegram accounts are unlinked. They are listed first, and you are asked to confirm.
    """
    from liaison.services.roster import RosterError, import_roster, missing_from_roster
    from liaison.storage.migrate import upgrade

    settings = _settings()
    _prepare_data_dir(settings)
    upgrade(settings.database_url)
    region = settings.default_phone_region
    try:
        missing = _with_db(
            settings, lambda database: missing_from_roster(database, programme_id, file, region)
        )
        if missing and not yes:
            click.echo(f"Not in {file.name}, so to be withdrawn (access ends, account unlinked):")
            for name in missing:
                click.echo(f"  {name}")
            click.confirm(f"Withdraw these {len(missing)} people?", abort=True)
        result = _with_db(
            settings, lambda database: import_roster(database, programme_id, file, region)
        )
    except RosterError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise click.ClickException(f"{len(exc.problems)} problem(s); nothing written") from None
    click.echo(f"roster of {programme_id}: {result.created} added, {result.updated} updated")
    if result.withdrawn:
        names = ", ".join(result.withdrawn)
        click.echo(f"withdrawn (no longer on the roster; access ended, unlinked): {names}")


@main.command()
@click.option("--programme", "programme_id", required=True, help="Programme id.")
@click.option("--name", "names", multiple=True, help="Only this person (repeatable).")
@click.option(
    "--days",
    default=14,
    show_default=True,
    type=click.IntRange(1, MAX_CODE_DAYS),
    help=f"Days until the codes expire (1 to {MAX_CODE_DAYS}).",
)
@click.option("--all", "include_enrolled", is_flag=True, help="Also people already enrolled.")
def codes(programme_id: str, names: tuple[str, ...], days: int, include_enrolled: bool) -> None:
    """Prints one-time enrolment codes (older unused codes of those people stop working)."""
    from liaison.services.enrolment import issue_codes

    settings = _settings()
    issued = _with_db(
        settings,
        lambda database: issue_codes(
            database,
            SystemClock(),
            programme_id,
            names=list(names) or None,
            valid_for=timedelta(days=days),
            include_enrolled=include_enrolled,
        ),
    )
    if not issued:
        click.echo("nobody to issue a code to (everyone enrolled, or no such name)")
        return
    for item in issued:
        link = (
            f"https://t.me/{settings.bot_username}?start={item.code}"
            if settings.bot_username
            else f"/start {item.code}"
        )
        click.echo(f"{item.name}\t{item.role}\t{item.code}\t{link}")
    click.echo(f"{len(issued)} codes, valid until {issued[0].expires_at:%Y-%m-%d %H:%M} UTC")


@main.group()
def person() -> None:
    """One person of a programme: end their access, or erase them."""


def _person_error(exc: Exception) -> click.ClickException:
    from liaison.services.errors import AmbiguousName

    if isinstance(exc, AmbiguousName):
        return click.ClickException(f"several people match {exc}; give the full name")
    return click.ClickException(f"nobody called {exc} in this programme (give the full name)")


@person.command("unlink")
@click.argument("name")
@click.option("--programme", "programme_id", required=True, help="Programme id.")
def person_unlink(name: str, programme_id: str) -> None:
    """Removes NAME's Telegram link; they can enrol again with /start."""
    from liaison.services.access import unlink_person
    from liaison.services.errors import AmbiguousName, PersonNotFound

    settings = _settings()
    try:
        done = _with_db(
            settings,
            lambda database: unlink_person(database, programme_id, name, SystemClock().now()),
        )
    except (PersonNotFound, AmbiguousName) as exc:
        raise _person_error(exc) from None
    if done.was_linked:
        click.echo(f"{done.name}: Telegram account unlinked; they can enrol again with /start")
    else:
        click.echo(f"{done.name} was not linked to a Telegram account; nothing to do")


@person.command("erase")
@click.argument("name")
@click.option("--programme", "programme_id", required=True, help="Programme id.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def person_erase(name: str, programme_id: str, yes: bool) -> None:
    """Erases NAME's personal data and archived files for good; anonymous counts stay.

    Their name becomes a number; phone, unit, position, notes, the text of their answers
    and submissions, and every file they sent are deleted. This cannot be undone.
    """
    from liaison.services.access import erase_person, exact_person
    from liaison.services.errors import AmbiguousName, PersonNotFound

    settings = _settings()
    try:
        full_name = _with_db(settings, lambda database: exact_person(database, programme_id, name))
        if not yes:
            click.confirm(
                f"Erase {full_name} of {programme_id}: personal data and files, for good?",
                abort=True,
            )
        erased = _with_db(
            settings,
            lambda database: erase_person(
                database, settings.data_dir, programme_id, full_name, SystemClock().now()
            ),
        )
    except (PersonNotFound, AmbiguousName) as exc:
        raise _person_error(exc) from None
    click.echo(
        f"erased: now {erased.placeholder}; {erased.files} file(s) deleted, text of "
        f"{erased.submissions} submission(s) and {erased.answers} answer(s) removed"
    )


def entry(argv: list[str] | None = None) -> Any:
    return main.main(args=argv, prog_name="liaison", standalone_mode=True)


if __name__ == "__main__":
    sys.exit(entry())
