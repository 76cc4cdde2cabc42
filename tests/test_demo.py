"""The offline demo runs the real bot on the sample programme without a token or network."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from liaison.bot.cli import main
from liaison.ui.i18n import translator


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


def test_demo_selection_scene_walks_the_organizer_through_candidates_and_select(
    env: dict[str, str],
) -> None:
    script = "\n".join(
        [":as 郑红", "/candidates", "/select", ":tap 1", ":tap 3", ":tap 1", ":quit"]
    )
    result = CliRunner().invoke(
        main, ["demo", "--scene", "selection", "--script", "-"], input=script, env=env
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "demo time 2014-07-29 01:00 UTC" in out
    assert "23. 胡斌" in out  # all 23 candidates ranked
    zh = translator("zh_CN")
    assert zh("Selection {position} of {total}").format(position=1, total=23) in out
    assert zh("{decision} (to confirm)").format(decision=zh("Selected")) in out


def test_one_person_typing_in_the_demo_is_never_taken_for_a_flood(env: dict[str, str]) -> None:
    """The demo's clock stands still between ':wait's, so its throttle has no limit."""
    script = "\n".join([":as 王思远", *(["/next"] * 30), ":quit"])
    result = CliRunner().invoke(main, ["demo", "--script", "-"], input=script, env=env)
    assert result.exit_code == 0, result.output
    assert "发送消息的速度过快" not in result.output
    assert "sending messages faster" not in result.output
