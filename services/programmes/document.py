"""Reading YAML/TOML with a line for every path, and errors that name file, line and path."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where} {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class DocumentError(Exception):
    """A document failed validation; carries every problem found, not just the first."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def format_loc(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


class _StringTimesLoader(yaml.SafeLoader):
    """SafeLoader that keeps dates and times as text, so pydantic reads them with their zone."""


_StringTimesLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
# YAML 1.1 reads 20:00 as the base-60 number 1200; organizers mean a time of day.
for _digit in "0123456789":
    _StringTimesLoader.yaml_implicit_resolvers[_digit] = [
        ("tag:yaml.org,2002:str", re.compile(r"^[0-9]+(?::[0-5]?[0-9])+$")),
        *_StringTimesLoader.yaml_implicit_resolvers.get(_digit, []),
    ]


@dataclass
class Document:
    file: str
    data: Any
    lines: dict[Loc, int]

    def line_of(self, loc: Loc) -> int | None:
        """The line of a path, or of its nearest ancestor that exists in the file."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(loc[:end])
            if line is not None:
                return line
        return None

    def problem(self, loc: Loc, message: str) -> Problem:
        return Problem(self.file, self.line_of(loc), format_loc(loc), message)


def _index_lines(node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> None:
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            lines[(*loc, key)] = key_node.start_mark.line + 1
            _index_lines(value_node, (*loc, key), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(item, (*loc, index), lines)


def refuse_aliases(name: str, text: str) -> None:
    """Refuses YAML anchors (&name) and aliases (*name), before anything is built.

    Ten lines of nested aliases expand to billions of nodes (an "alias bomb") and took
    minutes to check; a programme file never needs them, so each is reported with its line.
    Reading the event stream is linear in the file's length, whatever the aliases say.
    """
    problems = []
    for event in yaml.parse(text, Loader=_StringTimesLoader):
        anchor = getattr(event, "anchor", None)
        if not anchor:
            continue
        kind = "alias *" if isinstance(event, yaml.AliasEvent) else "anchor &"
        found = f"{kind}{anchor}"
        problems.append(
            Problem(
                name,
                event.start_mark.line + 1 if event.start_mark else None,
                "",
                f"YAML {found} is not allowed in programme files; write the value out",
            )
        )
    if problems:
        raise DocumentError(problems)


def read_document(path: Path) -> Document:
    """Parses a YAML or TOML file; a syntax error becomes a Problem with its line."""
    name = path.name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DocumentError([Problem(name, None, "", f"cannot read file: {exc.strerror}")]) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError([Problem(name, None, "", "not UTF-8 text")]) from exc
    if path.suffix.lower() == ".toml":
        try:
            return Document(name, tomllib.loads(text), {})
        except tomllib.TOMLDecodeError as exc:
            raise DocumentError([Problem(name, None, "", f"not valid TOML: {exc}")]) from exc
    try:
        refuse_aliases(name, text)
        node = yaml.compose(text, Loader=_StringTimesLoader)
        data = yaml.load(text, Loader=_StringTimesLoader)  # noqa: S506 - safe subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else None
        raise DocumentError([Problem(name, line, "", f"not valid YAML: {exc.problem}")]) from exc
    lines: dict[Loc, int] = {}
    if node is not None:
        _index_lines(node, (), lines)
    return Document(name, data, lines)


_FRIENDLY = {
    "datetime_parsing": "not a valid date-time (expected YYYY-MM-DD HH:MM)",
    "datetime_from_date_parsing": "not a valid date-time (expected YYYY-MM-DD HH:MM)",
    "datetime_type": "not a valid date-time (expected YYYY-MM-DD HH:MM)",
    "date_parsing": "not a valid date (expected YYYY-MM-DD)",
    "date_from_datetime_parsing": "not a valid date (expected YYYY-MM-DD)",
    "date_type": "not a valid date (expected YYYY-MM-DD)",
    "time_parsing": "not a valid time (expected HH:MM)",
    "time_type": "not a valid time (expected HH:MM)",
    "missing": "required but missing",
    "extra_forbidden": "unknown field (check the spelling)",
    "string_pattern_mismatch": (
        "expected a key of lowercase letters, digits, '-' or '_' (at most 64 characters)"
    ),
}


def validation_problems(doc: Document, exc: ValidationError) -> list[Problem]:
    problems = []
    for error in exc.errors():
        loc: Loc = tuple(error["loc"])
        message = _FRIENDLY.get(error["type"]) or error["msg"].removeprefix("Value error, ")
        problems.append(doc.problem(loc, message))
    return problems
