"""Add a service entry to ``dockerforge.yaml`` without touching anything else in it.

A full ruamel dump is not byte-faithful (it drops ``---``, quotes and blank-line habits,
re-indents sequences and wraps long lines), so the edit is a splice guided by ruamel: the
round-trip parse says where the services and their comments are and how they are indented,
ruamel writes the new entry in that indentation, and the new text is parsed again to prove
that the only change is the new entry. Every byte outside the inserted lines stays as it was.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from dockerforge.errors import Location, UserError
from dockerforge.yamlfile import key_location, load_yaml

DEFAULT_STEP = 2


@dataclass(frozen=True)
class ServiceEntry:
    """What the manifest says about one service; defaults are left unwritten."""

    name: str
    kind: str  # "http" or "worker"
    port: int | None = None
    health: str | None = None  # None: the default health path
    deps: tuple[str, ...] = ()
    env: tuple[str, ...] = ()

    def fields(self) -> dict[str, Any]:
        """The keys to write, in the order the example manifest uses."""
        fields: dict[str, Any] = {}
        if self.kind != "http" or self.port is None:  # a port alone already means http
            fields["kind"] = self.kind
        if self.port is not None:
            fields["port"] = self.port
        if self.health is not None:
            fields["health"] = self.health
        if self.deps:
            fields["deps"] = list(self.deps)
        if self.env:
            fields["env"] = list(self.env)
        return fields


@dataclass(frozen=True)
class ManifestEdit:
    text: str  # the whole new manifest
    entry: str  # the inserted lines, exactly as they appear in ``text``
    line: int  # 1-based line of the new entry's key


def add_service(
    path: Path, text: str, entry: ServiceEntry, after: str | None = None
) -> ManifestEdit:
    """``text`` with ``entry`` inserted under ``services:`` after service ``after``.

    ``after`` defaults to the last service. The entry goes after that service's own lines,
    before any blank lines or section comments that introduce the next one.
    """
    doc = load_yaml(path, text)
    services = doc.get("services") if isinstance(doc, CommentedMap) else None
    if not isinstance(services, CommentedMap) or not services:
        raise UserError("services: expected a mapping of service names", Location(path, 1))
    if services.fa.flow_style():
        raise UserError(
            "services is written in flow style ({...}); `dockerforge new` adds entries to a "
            "block mapping (one service per line), so add this one by hand",
            key_location(path, doc, "services"),
        )
    if entry.name in services:
        raise UserError(
            f"services: {entry.name!r} is already declared",
            key_location(path, services, entry.name),
        )
    names = list(services)
    after = names[-1] if after is None else after
    if after not in services:
        raise ValueError(f"no service {after!r} in the manifest")

    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines(keepends=True)
    key_col = services.lc.key(names[0])[1]
    at = _end_of_entry(doc, services, after, lines, key_col)
    if at == len(lines) and not lines[-1].endswith("\n"):
        lines[-1] += newline  # the only byte added outside the entry: its line's end
    entry_text = _entry_text(entry, key_col, _step(services, key_col), newline)
    new_text = "".join([*lines[:at], entry_text, *lines[at:]])

    _verify(path, doc, new_text, entry, after)
    return ManifestEdit(text=new_text, entry=entry_text, line=at + 1)


def _end_of_entry(
    doc: CommentedMap, services: CommentedMap, name: str, lines: list[str], key_col: int
) -> int:
    """Index of the first line after service ``name``'s own lines."""
    start = services.lc.key(name)[0]
    names = list(services)
    index = names.index(name)
    if index + 1 < len(names):
        boundary = services.lc.key(names[index + 1])[0]
    else:
        tops = list(doc)
        following = tops[tops.index("services") + 1 :]
        boundary = doc.lc.key(following[0])[0] if following else len(lines)
    at = boundary
    # Blank lines, `...` and comments no deeper than the service keys introduce what follows.
    while at - 1 > start and _belongs_to_next(lines[at - 1], key_col):
        at -= 1
    return at


def _belongs_to_next(line: str, key_col: int) -> bool:
    stripped = line.strip()
    if not stripped or stripped == "...":
        return True
    indent = len(line) - len(line.lstrip(" "))
    return stripped.startswith("#") and indent <= key_col


def _step(services: CommentedMap, key_col: int) -> int:
    """How far the file indents a service's own keys below its name."""
    for body in services.values():
        if isinstance(body, CommentedMap) and body and not body.fa.flow_style():
            col = body.lc.key(next(iter(body)))[1]
            if col > key_col:
                return col - key_col
    return DEFAULT_STEP


def _entry_text(entry: ServiceEntry, key_col: int, step: int, newline: str) -> str:
    body = CommentedMap()
    for key, value in entry.fields().items():
        if isinstance(value, list):
            seq = CommentedSeq(value)
            seq.fa.set_flow_style()  # `env: [JWT_SECRET]`, like the example
            value = seq
        body[key] = value
    yaml = YAML(typ="rt")
    yaml.indent(mapping=step, sequence=step, offset=0)
    yaml.width = 4096  # never wrap a flow list
    out = io.StringIO()
    yaml.dump(CommentedMap([(entry.name, body)]), out)
    pad = " " * key_col
    return "".join(pad + line + newline for line in out.getvalue().splitlines())


def _verify(path: Path, old: CommentedMap, text: str, entry: ServiceEntry, after: str) -> None:
    """Parse the result again: the new entry is where it belongs and nothing else changed."""
    new = load_yaml(path, text)
    names = list(old["services"])
    expected_names = [
        *names[: names.index(after) + 1],
        entry.name,
        *names[names.index(after) + 1 :],
    ]
    old_data = _plain(old)
    new_data = _plain(new)
    added = new_data.get("services", {}).pop(entry.name, None)
    if (
        list(new["services"]) != expected_names
        or added != entry.fields()
        or new_data != old_data
        or list(new) != list(old)
    ):
        raise UserError(
            f"could not add {entry.name!r} without changing the rest of the manifest; "
            "add this entry under services: by hand",
            key_location(path, old, "services"),
        )


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node
