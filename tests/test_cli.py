"""The `liaison` command as an organizer uses it, on a throwaway SQLite database."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from liaison.bot.cli import main
from tests.conftest import PROGRAMME_FILE, ROSTER_FILE

EXAMPLES = Path(__file__).parent.parent / "examples"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)
    return {
        "LIAISON_DATA_DIR": str(tmp_path / "data"),
        "LIAISON_DATABASE_URL": "",
        "LIAISON_BOT_TOKEN": "",
        "LIAISON_BOT_USERNAME": "jinjiang_bot",
    }


def invoke(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.output


def test_sample_programme_and_roster_load_from_the_cli(env: dict[str, str]) -> None:
    code, out = invoke(env, "programme", "check", str(EXAMPLES / "jinjiang-2014.yaml"))
    assert code == 0, out
    assert "ok — programme jinjiang-2014" in out
    code, out = invoke(env, "programme", "load", str(EXAMPLES / "jinjiang-2014.yaml"))
    assert code == 0 and "created" in out, out
    code, out = invoke(env, "programme", "load", str(EXAMPLES / "jinjiang-2014.yaml"))
    assert code == 0 and "updated" in out, out
    code, out = invoke(
        env,
        "roster",
        "import",
        "--programme",
        "jinjiang-2014",
        str(EXAMPLES / "jinjiang-2014-roster.csv"),
    )
    assert code == 0, out
    assert "26 added, 0 updated, 46 test results recorded" in out
    code, out = invoke(env, "codes", "--programme", "jinjiang-2014")
    assert code == 0, out
    lines = [line for line in out.splitlines() if "\t" in line]
    assert len(lines) == 26
    assert all("https://t.me/jinjiang_bot?start=" in line for line in lines)


def test_check_reports_problems_with_lines_and_fails(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        PROGRAMME_FILE.read_text(encoding="utf-8").replace("location: abroad", "location: moon", 1),
        encoding="utf-8",
    )
    code, out = invoke(env, "programme", "check", str(bad))
    assert code == 1
    assert "bad.yaml:" in out and "phases[1].location" in out
    assert "nothing written" in out


def test_roster_problems_fail_the_import(env: dict[str, str], tmp_path: Path) -> None:
    invoke(env, "programme", "load", str(PROGRAMME_FILE))
    bad = tmp_path / "r.csv"
    bad.write_text("name,phone\n张伟,12\n", encoding="utf-8")
    code, out = invoke(env, "roster", "import", "--programme", "test-prog", str(bad))
    assert code == 1
    assert "r.csv:2: phone '12' is not a valid number" in out
    code, out = invoke(env, "roster", "import", "--programme", "test-prog", str(ROSTER_FILE))
    assert code == 0 and "6 added" in out


def test_run_without_token_stops_with_one_line(env: dict[str, str]) -> None:
    code, out = invoke(env, "run")
    assert code == 1
    assert out.strip() == (
        "Error: LIAISON_BOT_TOKEN: missing; get a token from @BotFather (see README)"
    )


def test_bad_setting_stops_with_one_line_naming_it(env: dict[str, str]) -> None:
    code, out = invoke({**env, "LIAISON_DEFAULT_LOCALE": "fr"}, "db", "upgrade")
    assert code == 1
    assert out.startswith("Error: LIAISON_DEFAULT_LOCALE: ")
    assert len(out.strip().splitlines()) == 1


def test_liaison_run_caps_glibc_at_two_malloc_arenas_unless_the_environment_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from liaison.bot.cli import few_malloc_arenas

    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert few_malloc_arenas() is False  # the operator's setting wins
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    if sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc":
        assert few_malloc_arenas() is True
