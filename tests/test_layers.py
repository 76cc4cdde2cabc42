"""The house's layers: imports flow one way, and every package is in the wheel.

bot → handlers / sender → ui → services → storage. Nothing imports the composition root
(bot/); services and storage know nothing of Telegram; storage knows nothing of the
services; migrations (Alembic's own entry point) may read the settings.
"""

from __future__ import annotations

import ast
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = {
    "bot": "bot",
    "handlers": "handlers",
    "sender": "sender",
    "ui": "ui",
    "services": "services",
    "storage": "storage",
    "migrations": "migrations",
}
ALLOWED: dict[str, set[str]] = {
    "bot": {"bot", "handlers", "sender", "ui", "services", "storage"},
    "migrations": {"migrations", "storage", "bot"},
    "handlers": {"handlers", "ui", "services", "storage"},
    "sender": {"sender", "ui", "services", "storage"},
    "ui": {"ui", "services", "storage"},
    "services": {"services", "storage"},
    "storage": {"storage"},
}
NO_TELEGRAM = {"services", "storage"}
BARE = set(FOLDERS) | {"locales", "examples"}


@dataclass(frozen=True)
class Violation:
    file: str
    line: int
    imported: str
    why: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line} imports {self.imported}: {self.why}"


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def check_imports(root: Path) -> list[Violation]:
    """Every import in the layer folders under ``root`` that goes against the flow."""
    violations: list[Violation] = []
    for layer, folder in FOLDERS.items():
        for path in sorted((root / folder).rglob("*.py")):
            relative = str(path.relative_to(root))
            for line, module in _imports(ast.parse(path.read_text(encoding="utf-8"))):
                parts = module.split(".")
                if parts[0] in BARE:
                    why = "use the installed name liaison.*"
                    violations.append(Violation(relative, line, module, why))
                elif parts[0] == "telegram" and layer in NO_TELEGRAM:
                    why = f"{layer} must not know Telegram"
                    violations.append(Violation(relative, line, module, why))
                elif parts[0] == "liaison" and len(parts) > 1 and parts[1] not in ALLOWED[layer]:
                    why = f"{layer} may import only {', '.join(sorted(ALLOWED[layer]))}"
                    violations.append(Violation(relative, line, module, why))
    return violations


def test_imports_flow_one_way() -> None:
    violations = check_imports(ROOT)
    assert not violations, "\n".join(str(v) for v in violations)


def test_the_import_check_catches_a_service_importing_the_composition_root(
    tmp_path: Path,
) -> None:
    for folder in FOLDERS.values():
        (tmp_path / folder).mkdir()
    (tmp_path / "services" / "bad.py").write_text(
        "from liaison.bot.settings import Settings\nimport telegram\nfrom storage import base\n"
    )
    (tmp_path / "ui" / "fine.py").write_text("from liaison.services.clock import Clock\n")
    found = {(v.file, v.imported) for v in check_imports(tmp_path)}
    assert found == {
        ("services/bad.py", "liaison.bot.settings"),
        ("services/bad.py", "telegram"),
        ("services/bad.py", "storage"),
    }


def test_every_package_folder_is_in_the_wheel() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = config["tool"]["setuptools"]
    declared = set(setuptools["packages"])
    folders = {}
    for name, folder in setuptools["package-dir"].items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            parts = init.parent.relative_to(base).parts
            folders[".".join((name, *parts))] = init.parent
    assert set(folders) == declared, (
        "pyproject.toml [tool.setuptools] packages must list every folder with an __init__.py"
    )
    assert set(FOLDERS.values()) <= {Path(f).name for f in setuptools["package-dir"].values()}


def test_every_folder_with_user_texts_is_extracted_into_the_catalogs() -> None:
    config = (ROOT / "babel.cfg").read_text(encoding="utf-8")
    for folder in ("bot", "handlers", "sender", "ui", "services"):
        assert f"[python: {folder}/**.py]" in config, f"babel.cfg misses {folder}/"
