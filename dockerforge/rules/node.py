"""The Node.js version: DF108-DF110."""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterator
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

from dockerforge.rules.base import (
    ERROR,
    INFO,
    WARNING,
    Finding,
    Fix,
    RepoTarget,
    Rule,
    ServiceTarget,
)
from dockerforge.rules.facts import node_major
from dockerforge.workspace import json_key_line

Version = tuple[int, int, int]
_INFINITY: Version = (10**9, 0, 0)
_COMPARATOR = re.compile(
    r"(>=|<=|>|<|=|\^|~>?)?\s*v?(\*|[xX]|\d+)(?:\.(\*|[xX]|\d+))?(?:\.(\*|[xX]|\d+))?(?:[-+][0-9A-Za-z.-]*)?"
)


@cache
def eol_dates() -> dict[int, date]:
    """Node.js major -> end-of-life date, from the bundled ``data/node_eol.json``."""
    text = resources.files("dockerforge").joinpath("data/node_eol.json").read_text("utf-8")
    table: dict[str, Any] = json.loads(text)
    return {int(k): date.fromisoformat(v) for k, v in table.items() if k.isdigit()}


def engines_node(data: dict[str, Any]) -> str | None:
    engines = data.get("engines")
    node = engines.get("node") if isinstance(engines, dict) else None
    return node if isinstance(node, str) else None


def admits_major(spec: str, major: int) -> bool | None:
    """Does the semver range ``spec`` admit some Node.js ``major``.x.y? None: cannot tell."""
    wanted = ((major, 0, 0), (major + 1, 0, 0))
    for alternative in spec.split("||"):
        interval = _interval(alternative.strip())
        if interval is None:
            return None
        low, high = max(interval[0], wanted[0]), min(interval[1], wanted[1])
        if low < high:
            return True
    return False


def _interval(text: str) -> tuple[Version, Version] | None:
    """[low, high) of one comparator set; None when it is not a range this module reads."""
    hyphen = re.fullmatch(r"(\S+)\s+-\s+(\S+)", text)
    if hyphen:
        text = f">={hyphen.group(1)} <={hyphen.group(2)}"
    low: Version = (0, 0, 0)
    high: Version = _INFINITY
    position = 0
    text = text.strip()
    while position < len(text):
        match = _COMPARATOR.match(text, position)
        if match is None or match.end() == position:
            return None
        bounds = _bounds(match.group(1) or "=", match.group(2), match.group(3), match.group(4))
        low, high = max(low, bounds[0]), min(high, bounds[1])
        position = match.end()
        while position < len(text) and text[position] in " ,":
            position += 1
    return low, high


def _bounds(op: str, *parts: str | None) -> tuple[Version, Version]:
    numbers = [int(p) for p in _prefix(parts)]
    if not numbers:
        return (0, 0, 0), _INFINITY
    exact = _version(numbers)
    # The first version after the partial one: 18 -> 19.0.0, 18.2 -> 18.3.0, 18.2.1 -> 18.2.2.
    after = _version([*numbers[:-1], numbers[-1] + 1])
    if op == ">=":
        return exact, _INFINITY
    if op == ">":
        return after, _INFINITY
    if op == "<":
        return (0, 0, 0), exact
    if op == "<=":
        return (0, 0, 0), after
    if op.startswith("~"):
        top = (numbers[0] + 1, 0, 0) if len(numbers) == 1 else (numbers[0], numbers[1] + 1, 0)
        return exact, top
    if op == "^":
        index = next((i for i, n in enumerate(numbers) if n != 0), len(numbers) - 1)
        caret = numbers[: index + 1]
        caret[-1] += 1
        return exact, _version(caret)
    return exact, after  # "=" or a bare (possibly partial) version


def _version(numbers: list[int]) -> Version:
    padded = [*numbers, 0, 0]
    return (padded[0], padded[1], padded[2])


def _prefix(parts: tuple[str | None, ...]) -> list[str]:
    """The numeric leading components (``18.x`` -> ["18"])."""
    found = []
    for part in parts:
        if part is None or not part.isdigit():
            break
        found.append(part)
    return found


class NodeVersusEngines(Rule):
    code = "DF108"
    title = "Node.js base image outside the `engines.node` range"
    severity = ERROR
    why = (
        "`engines.node` is the range the code was written and tested for. An image on another "
        "major can lack APIs the code calls (or behave differently), and that only shows when "
        "the task starts."
    )
    bad = '"engines": { "node": ">=20" }\n...\nFROM node:18-alpine AS runtime'
    good = '"engines": { "node": ">=18.0.0" }\n...\nFROM node:18-alpine AS runtime'
    fix = Fix(
        False, "manual", "make image.node in dockerforge.yaml and engines.node agree, then render"
    )

    def check(self, target: ServiceTarget) -> Iterator[Finding]:
        if target.dockerfile is None:
            return
        first = target.image_stages[0]
        major = node_major(first.base)
        if major is None:
            return
        packages = [("the root package.json", target.repo.workspace.root_data)]
        own = target.repo.workspace.packages.get(target.service.package)
        if own is not None:
            packages.append((f"{own.path}/package.json", own.data))
        for where, data in packages:
            spec = engines_node(data)
            if spec is not None and admits_major(spec, major) is False:
                yield self.at(
                    target,
                    first,
                    f"{first.base} runs Node.js {major}, but {where} says engines.node "
                    f"{json.dumps(spec)}",
                )


class NoEngines(Rule):
    code = "DF109"
    title = "No `engines.node` in the workspace packages"
    severity = INFO
    why = (
        "Only the root package.json says which Node.js the code needs; a shared package or a "
        "service moved to another repository, or published, loses that statement. Declaring "
        "it where the code lives documents the minimum the image must meet."
    )
    bad = '// shared/package.json\n{ "name": "@acme/shared", "main": "dist/index.js" }'
    good = '// shared/package.json\n{ "name": "@acme/shared", "engines": { "node": ">=18.0.0" } }'
    fix = Fix(False, "manual", "add the root's engines.node to shared and to each service")

    def check_repo(self, repo: RepoTarget) -> Iterator[Finding]:
        workspace = repo.workspace
        lacking = sorted(
            p.path for p in workspace.packages.values() if engines_node(p.data) is None
        )
        if not lacking:
            return
        root = engines_node(workspace.root_data)
        names = _summarize(lacking)
        line = json_key_line(workspace.root_text, "engines") or 1
        if root is None:
            yield self.finding(
                "package.json", line, f"no package says which Node.js it needs ({names})"
            )
            return
        yield self.finding(
            "package.json",
            line,
            f"{len(lacking)} workspace packages ({names}) declare no engines.node and rely on "
            f"the root's {json.dumps(root)}",
        )


class NodeEndOfLife(Rule):
    code = "DF110"
    title = "Node.js version past its end of life"
    severity = WARNING
    why = (
        "After its end-of-life date a Node.js major gets no security fixes, and base images "
        "for it stop being rebuilt: every CVE found later stays in production. The dates come "
        "from the Node.js release schedule (dockerforge/data/node_eol.json)."
    )
    bad = "FROM node:18-alpine AS runtime   # Node.js 18 ended 2025-04-30"
    good = "FROM node:22-alpine AS runtime   # supported until 2027-04-30"
    fix = Fix(
        False,
        "manual",
        "raise image.node in dockerforge.yaml (and engines.node) to a supported LTS, then "
        "render and run the tests",
    )

    def check(self, target: ServiceTarget) -> Iterator[Finding]:
        if target.dockerfile is None:
            return
        first = target.image_stages[0]
        major = node_major(first.base)
        ended = eol_dates().get(major) if major is not None else None
        today = target.repo.today
        if ended is None or today <= ended:
            return
        supported = [str(m) for m, end in sorted(eol_dates().items()) if m % 2 == 0 and end > today]
        advice = f"; supported LTS lines: {', '.join(supported)}" if supported else ""
        yield self.at(
            target,
            first,
            f"{first.base}: Node.js {major} reached end of life on {ended.isoformat()} and gets "
            f"no security fixes{advice}",
        )


def _summarize(paths: list[str]) -> str:
    """``shared, 17 in services/``: top-level packages by name, the rest counted per folder."""
    folders: dict[str, list[str]] = {}
    for path in paths:
        folders.setdefault(posixpath.dirname(path), []).append(path)
    parts: list[str] = []
    for folder, items in sorted(folders.items(), key=lambda item: (item[0] != "", item[0])):
        parts += items if not folder or len(items) == 1 else [f"{len(items)} in {folder}/"]
    return ", ".join(parts)


RULES: tuple[Rule, ...] = (NodeVersusEngines(), NoEngines(), NodeEndOfLife())
