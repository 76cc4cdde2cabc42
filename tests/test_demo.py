"""The offline demo runs the real bot on the sample programme without a token or network."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from liaison.bot.cli import main


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)
    return {"LIAISON_DATA_DIR": str(tmp_path / "data"), "LIAISON_BOT_TOKEN": ""}


def test_demo_script_walks_a_cadre_and_an_organizer_through_the_bot(
    env: dict[str, str],
) -> None:
    script = "\n".join(
        [
            ":as 王思远",
            "/schedule week",
            ":wait 10m",
            ":tap 1",
            ":tap 4",
            "进展顺利，已完成两天实训。",
            ":as 何嘉文",
            "/help",
            ":quit",
        ]
    )
    result = CliRunner().invoke(main, ["demo", "--no-past", "--script", "-"], input=script, env=env)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "you are now 王思远 (cadre)" in out
    assert "联想北美总部" in out or "Lenovo" in out  # the week's placements
    assert "第 1 题，共 5 题" in out and "第 3 题，共 5 题" in out
    assert "you are now 何嘉文 (organizer)" in out


def test_demo_shows_the_organizers_side_with_a_past(env: dict[str, str]) -> None:
    script = "\n".join([":as 郑红", "/cohort", "/person 杨帆", "/review", ":wait 10m", ":quit"])
    result = CliRunner().invoke(main, ["demo", "--script", "-"], input=script, env=env)
    assert result.exit_code == 0, result.output
    out = result.output
    cohort = out.split("> /cohort", 1)[1]
    assert cohort.split("\n🚨 ", 1)[1].startswith("杨帆")  # attention first
    assert "感冒发烧两天" in out  # the call notes in her dossier
    assert "待评阅（按提交先后）：" in out  # the review queue
    assert "阶段汇报(一):理论学习 · 已交 12/13 · 未交：马骁" in out  # the 08:00 digest
    assert "(photo" in out  # its chart


def test_demo_refuses_unknown_people_and_buttons(env: dict[str, str]) -> None:
    result = CliRunner().invoke(
        main,
        ["demo", "--no-past", "--script", "-"],
        input=":as 无名氏\n:tap 9\n:wait soon\n",
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert "nobody called 无名氏" in result.output
    assert "no such button" in result.output
    assert "say how long" in result.output
