"""The `liaison` command: run the bot, migrate, load programmes and rosters, issue codes."""

from __future__ import annotations

import asyncio
import ctypes
import gc
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from liaison.bot.settings import Settings, SettingsError, load_settings
from liaison.services.clock import SystemClock
from liaison.storage.database import Database

if TYPE_CHECKING:  # it loads PyYAML: only the programme commands need it
    from liaison.services.programmes.document import DocumentError

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


# glibc's mallopt parameter for the number of malloc arenas.
M_ARENA_MAX = -8


def few_malloc_arenas() -> bool:
    """Caps glibc at two malloc arenas, as MALLOC_ARENA_MAX=2 would; True when it did.

    By default glibc gives each thread that allocates (aiosqlite's, the exports') an arena
    of its own, up to eight per core, and keeps what they freed: with 10,000 cadres the
    bot's RSS crept past 150 MB after the planner's first ticks, and stays at 142 MB with
    two (docs/benchmarks.md, "Memory"). A MALLOC_ARENA_MAX in the environment wins; a libc
    without mallopt (musl, macOS) is left alone.
    """
    if "MALLOC_ARENA_MAX" in os.environ or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_ARENA_MAX, 2))


@click.group()
def main() -> None:
    """Liaison: a Telegram bot for tracking overseas training programmes."""


@main.command()
@click.option("--no-migrate", is_flag=True, help="Do not upgrade the database schema first.")
def run(no_migrate: bool) -> None:
    """Runs the bot (long polling, or a webhook when LIAISON_MODE=webhook)."""
    few_malloc_arenas()  # before any thread starts
    # Start-up only builds what lives as long as the process: the cycle collector's passes
    # over it find nothing to free and cost a tenth of the CPU before the first update.
    gc.disable()
    try:
        from liaison.bot.application import build_application
        from liaison.bot.logging_setup import configure_logging
        from liaison.bot.runner import serve

        settings = _settings()
        try:
            token = settings.require_token()
        except SettingsError as exc:
            raise click.ClickException(str(exc)) from None
        secrets: tuple[str, ...] = (token,)
        if settings.webhook.secret_token is not None:
            secrets += (settings.webhook.secret_token.get_secret_value(),)
        configure_logging(settings.log_level, secrets, settings.log_format.value)
        _prepare_data_dir(settings)
        if not no_migrate:
            from liaison.storage.schema import at_head

            # One query when the schema is current; Alembic (slow to load) only when it is not,
            # so a database behind is upgraded and one ahead refused exactly as before.
            if not asyncio.run(at_head(settings.database_url)):
                from liaison.storage.migrate import upgrade

                upgrade(settings.database_url)
        app = build_application(settings, token=token)
    finally:
        gc.freeze()  # what start-up built is never scanned again
        gc.enable()
    asyncio.run(serve(app, settings))


@main.command()
@click.option(
    "--script",
    type=click.File("r", encoding="utf-8"),
    default=None,
    help="Read the lines from a file ('-' for standard input) instead of a prompt.",
)
@click.option(
    "--scene",
    type=click.Choice(["practicum", "selection"]),
    default="practicum",
    show_default=True,
    help="Start in the practicum (28 Oct 2014), or on the morning of the final selection.",
)
@click.option(
    "--no-past",
    is_flag=True,
    help="Start without the weeks of history (check-ins, reports, a review) before the clock.",
)
def demo(script: Any, scene: str, no_past: bool) -> None:
    """Talks to the bot offline as any person of the sample programme (no token needed)."""
    from liaison.bot.sandbox.demo import run_demo

    settings = _settings()
    _prepare_data_dir(settings)
    logging.basicConfig(level=logging.WARNING)
    if script is None and not sys.stdin.isatty():
        script = sys.stdin
    asyncio.run(
        run_demo(
            settings.data_dir,
            script,
            click.echo,
            None if script is not None else input,
            scene=scene,
            past=not no_past,
        )
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
    from liaison.services.programmes.document import DocumentError
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
        f"{len(definition.surveys)} surveys, {len(definition.selection.tests)} tests"
    )


@programme.command("load")
@click.argument("file", type=click.Path(path_type=Path))
def programme_load(file: Path) -> None:
    """Validates FILE and writes it in one transaction (again: updates in place)."""
    from liaison.services.programmes.document import DocumentError
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
    click.echo(
        f"roster of {programme_id}: {result.created} added, {result.updated} updated"
        + (f", {result.results} test results recorded" if result.results else "")
    )
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


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--no-jobs", is_flag=True, help="Do not expect the bot's jobs to be running (e.g. at set-up)."
)
def status(as_json: bool, no_jobs: bool) -> None:
    """Reports the installation's health; exits 1 when something is wrong (for cron)."""
    from liaison.bot.status import health_expectations, status_json, status_lines
    from liaison.services.health import check_health

    settings = _settings()
    expect = health_expectations(settings, expect_jobs=not no_jobs)
    health = _with_db(
        settings, lambda database: check_health(database, SystemClock().now(), expect)
    )
    if as_json:
        click.echo(status_json(health))
    else:
        for line in status_lines(health):
            click.echo(line)
    if not health.healthy:
        sys.exit(1)


@main.group()
def export() -> None:
    """Exports for the record: the workbook, the submitted files, calendars, the report."""


def _export_out(out: Path | None, programme_id: str, kind: str) -> Path:
    from liaison.services.exports.kinds import ExportKind
    from liaison.ui.exports import file_name

    return out or Path(file_name(programme_id, ExportKind(kind), SystemClock().now()))


def _run_export(
    kind: str, programme_id: str, out: Path, locale: str | None, person: str | None = None
) -> None:
    from liaison.services.errors import DomainError
    from liaison.services.exports.calendar import calendar_for
    from liaison.services.exports.kinds import ExportKind, record_export
    from liaison.ui.calendar import calendar_bytes
    from liaison.ui.exports import build_export

    settings = _settings()
    export_kind = ExportKind(kind)

    async def work(database: Database) -> tuple[list[Path], int]:
        now = SystemClock().now()
        if export_kind is ExportKind.CALENDAR and person is not None:
            data = await calendar_for(database, programme_id, person_name=person)
            await asyncio.to_thread(out.write_bytes, calendar_bytes(data, now, locale))
            parts, problems = [out], 0
        else:
            built = await build_export(
                database,
                export_kind,
                programme_id,
                out,
                data_dir=settings.data_dir,
                now=now,
                locale=locale,
            )
            parts, problems = built.parts, len(built.problems)
            for line in built.problems:
                click.echo(f"{line.status}: {line.name}", err=True)
        await record_export(
            database,
            programme_id,
            export_kind,
            now,
            details={"file": out.name, **({"person": person} if person else {})},
        )
        return parts, problems

    try:
        parts, problems = _with_db(settings, work)
    except DomainError as exc:
        raise click.ClickException(_export_refusal(exc, programme_id)) from None
    for part in parts:
        click.echo(f"{part} ({part.stat().st_size:,} bytes)")
    if problems:
        click.echo(f"{problems} file(s) missing or changed; see the manifest", err=True)


def _export_refusal(exc: Exception, programme_id: str) -> str:
    from liaison.services.errors import AmbiguousName, PersonNotFound
    from liaison.services.exports.errors import UnknownProgramme

    if isinstance(exc, UnknownProgramme):
        return f"no programme {programme_id!r}"
    if isinstance(exc, PersonNotFound):
        return f"nobody called {exc} in {programme_id}"
    if isinstance(exc, AmbiguousName):
        return f"several people match {exc}; use the full name"
    return f"refused: {type(exc).__name__}"


_LOCALES = click.Choice(["zh_CN", "en"])


@export.command("workbook")
@click.option("--programme", "programme_id", required=True, help="Programme id.")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="The .xlsx to write.")
@click.option("--locale", type=_LOCALES, default=None, help="Headers' language (programme's).")
def export_workbook(programme_id: str, out: Path | None, locale: str | None) -> None:
    """Writes the programme's record as an Excel workbook."""
    _run_export("workbook", programme_id, _export_out(out, programme_id, "workbook"), locale)


@export.command("files")
@click.option("--programme", "programme_id", required=True, help="Programme id.")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="The .zip to write.")
def export_files(programme_id: str, out: Path | None) -> None:
    """Writes every submitted file into a ZIP with a manifest."""
    _run_export("files", programme_id, _export_out(out, programme_id, "files"), None)


@export.command("calendar")
@click.option("--programme", "programme_id", required=True, help="Programme id.")
@click.option("--person", default=None, help="One person's calendar (their deadlines).")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="The .ics to write.")
@click.option("--locale", type=_LOCALES, default=None, help="Language (the person's own).")
def export_calendar(
    programme_id: str, person: str | None, out: Path | None, locale: str | None
) -> None:
    """Writes the schedule and deadlines as an .ics calendar."""
    _run_export(
        "calendar", programme_id, _export_out(out, programme_id, "calendar"), locale, person
    )


@export.command("report")
@click.option("--programme", "programme_id", required=True, help="Programme id.")
@click.option(
    "--output", "--out", "out", type=click.Path(path_type=Path), default=None, help="The .docx."
)
@click.option("--locale", type=_LOCALES, default=None, help="Language (programme's).")
def export_report(programme_id: str, out: Path | None, locale: str | None) -> None:
    """Writes the results report (Word): summary, charts, papers, one page per cadre."""
    _run_export("report", programme_id, _export_out(out, programme_id, "report"), locale)


@main.command("backup")
@click.argument("directory", type=click.Path(path_type=Path))
def backup_command(directory: Path) -> None:
    """Backs up the database (SQLite) and the file archive into an empty DIRECTORY."""
    from liaison.services.backup import BackupRefused, backup

    settings = _settings()
    try:
        report = _with_db(
            settings,
            lambda database: backup(
                database,
                settings.database_url,
                settings.data_dir,
                directory,
                SystemClock().now(),
            ),
        )
    except BackupRefused as exc:
        raise click.ClickException(str(exc)) from None
    size = f"{report.bytes / 1024 / 1024:.1f} MB"
    click.echo(f"backup in {directory}: {report.database} database, {report.files} files ({size})")
    if report.database == "postgresql":
        click.echo("the PostgreSQL database itself is backed up with pg_dump (see README)")
    for missing in report.missing:
        click.echo(f"missing (deleted while backing up, or not on disk): {missing}", err=True)


@main.command("restore")
@click.argument("directory", type=click.Path(path_type=Path, exists=True, file_okay=False))
def restore_command(directory: Path) -> None:
    """Restores a backup from DIRECTORY into an empty data directory."""
    from liaison.services.backup import BackupRefused, restore

    settings = _settings()
    try:
        files = asyncio.run(restore(directory, settings.data_dir, settings.database_url))
    except BackupRefused as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"restored into {settings.data_dir}: the database and {files} files")


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
