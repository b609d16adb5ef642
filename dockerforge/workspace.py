"""What the monorepo itself says: pnpm-workspace.yaml and the package.json files."""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dockerforge.errors import Location, UserError
from dockerforge.schema import PACKAGE_NAME
from dockerforge.yamlfile import load_yaml, read_text

# Sections whose dependencies are installed in a production image.
RUNTIME_SECTIONS = ("dependencies", "optionalDependencies", "peerDependencies")
ALL_SECTIONS = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")


@dataclass(frozen=True)
class Package:
    """One workspace package, read from its package.json."""

    name: str
    path: str  # folder relative to the repository root, POSIX style
    file: Path
    text: str = field(repr=False)
    data: dict[str, Any] = field(repr=False)

    def dependencies(self, sections: Iterable[str] = ALL_SECTIONS) -> dict[str, str]:
        found: dict[str, str] = {}
        for section in sections:
            entries = self.data.get(section) or {}
            if isinstance(entries, dict):
                found.update({k: v for k, v in entries.items() if isinstance(v, str)})
        return found

    def has_script(self, name: str) -> bool:
        scripts = self.data.get("scripts")
        return isinstance(scripts, dict) and isinstance(scripts.get(name), str)

    def location(self, key: str | None = None) -> Location:
        """Where ``"key"`` first appears in this package.json (or the file itself)."""
        return Location(self.file, json_key_line(self.text, key) if key else None)


@dataclass(frozen=True)
class Workspace:
    root: Path
    root_data: dict[str, Any]
    root_file: Path
    root_text: str
    patterns: tuple[str, ...]
    packages: dict[str, Package]  # by package name
    catalogs: dict[str, dict[str, str]]  # catalog name ("default") -> dep -> spec
    workspace_file: Path | None

    def by_path(self, path: str) -> Package | None:
        return next((p for p in self.packages.values() if p.path == path), None)

    @property
    def package_manager_version(self) -> str | None:
        """The pnpm version from the root ``packageManager`` field (hash dropped)."""
        value = self.root_data.get("packageManager")
        if not isinstance(value, str):
            return None
        match = re.fullmatch(r"pnpm@(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)(?:\+.*)?", value)
        return match.group(1) if match else None

    @property
    def node_major(self) -> int | None:
        """The smallest Node.js major version the root ``engines.node`` range admits."""
        engines = self.root_data.get("engines")
        node = engines.get("node") if isinstance(engines, dict) else None
        if not isinstance(node, str):
            return None
        match = re.search(r"\d+", node)
        return int(match.group(0)) if match else None

    def covers(self, folder: str) -> bool:
        """Whether the workspace globs include a package in ``folder`` (relative, POSIX)."""
        include = [p.strip().rstrip("/") for p in self.patterns if not p.startswith("!")]
        exclude = [p[1:].strip().rstrip("/") for p in self.patterns if p.startswith("!")]
        return any(_glob_match(folder, p) for p in include) and not any(
            fnmatch.fnmatchcase(folder, ex) for ex in exclude
        )

    def with_package(self, package: Package) -> Workspace:
        """This workspace as it will be once ``package`` exists (if the globs include it)."""
        if not self.covers(package.path):
            return self
        return replace(self, packages={**self.packages, package.name: package})

    def workspace_deps(self, package: Package, sections: Iterable[str]) -> list[Package]:
        """The workspace packages ``package`` depends on through ``workspace:`` specs."""
        found = []
        for dep, version in package.dependencies(sections).items():
            if not version.startswith("workspace:"):
                continue
            target = self.packages.get(dep)
            if target is None:
                raise UserError(
                    f"dependency {dep!r} uses {version!r} but no workspace package "
                    f"is named {dep!r}",
                    package.location(dep),
                )
            found.append(target)
        return found

    def closure(
        self,
        start: Package,
        sections: tuple[str, ...],
        extra: Callable[[Package], Iterable[Package]] = lambda _: (),
    ) -> dict[str, Package]:
        """``start`` and every package it reaches through ``workspace:`` specs (and ``extra``)."""
        seen: dict[str, Package] = {}
        stack = [start]
        while stack:
            package = stack.pop()
            if package.name in seen:
                continue
            seen[package.name] = package
            stack.extend(self.workspace_deps(package, sections))
            stack.extend(extra(package))
        return seen

    def resolve_catalog(self, package: Package, dep: str, spec: str) -> str:
        """The version range that a ``catalog:`` spec stands for, or a clear error."""
        name = spec.removeprefix("catalog:") or "default"
        entry = self.catalogs.get(name, {}).get(dep)
        if entry is None:
            where = "catalog" if name == "default" else f"catalogs.{name}"
            raise UserError(
                f"dependency {dep!r} uses {spec!r} but pnpm-workspace.yaml has no "
                f"{where} entry for it",
                package.location(dep),
            )
        return entry


def json_key_line(text: str, key: str) -> int | None:
    needle = json.dumps(key)
    index = text.find(needle)
    return None if index < 0 else text.count("\n", 0, index) + 1


def read_json(path: Path) -> tuple[str, Any]:
    text = read_text(path)
    return text, decode_json(path, text)


def decode_json(path: Path, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"invalid JSON: {exc.msg}", Location(path, exc.lineno, exc.colno)) from None


def read_workspace(root: Path) -> Workspace:
    root_file = root / "package.json"
    root_text, root_data = read_json(root_file)
    if not isinstance(root_data, dict):
        raise UserError("expected a JSON object", Location(root_file, 1))

    workspace_file = root / "pnpm-workspace.yaml"
    catalogs: dict[str, dict[str, str]] = {}
    if workspace_file.is_file():
        doc = load_yaml(workspace_file) or {}
        if not isinstance(doc, dict):
            raise UserError("expected a mapping", Location(workspace_file, 1))
        patterns = _string_list(doc.get("packages"), workspace_file, "packages")
        catalogs = _catalogs(doc, workspace_file)
    else:
        workspace_file = None
        declared = root_data.get("workspaces")
        if isinstance(declared, dict):  # the yarn form {"packages": [...]}
            declared = declared.get("packages")
        patterns = _string_list(declared, root_file, "workspaces")
    if not patterns:
        raise UserError(
            "no workspace packages declared (pnpm-workspace.yaml `packages` or "
            "package.json `workspaces`)",
            Location(workspace_file or root_file),
        )

    packages: dict[str, Package] = {}
    for folder in _expand(root, patterns):
        package = _read_package(root, folder)
        other = packages.get(package.name)
        if other is not None:
            raise UserError(
                f"package name {package.name!r} is also used by {other.path}/package.json",
                package.location("name"),
            )
        packages[package.name] = package
    return Workspace(
        root=root,
        root_data=root_data,
        root_file=root_file,
        root_text=root_text,
        patterns=tuple(patterns),
        packages=packages,
        catalogs=catalogs,
        workspace_file=workspace_file,
    )


def _string_list(value: Any, path: Path, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UserError(f"{key}: expected a list of folder patterns", Location(path))
    return list(value)


def _catalogs(doc: dict[str, Any], path: Path) -> dict[str, dict[str, str]]:
    catalogs: dict[str, dict[str, str]] = {}
    if isinstance(doc.get("catalog"), dict):
        catalogs["default"] = {str(k): str(v) for k, v in doc["catalog"].items()}
    named = doc.get("catalogs")
    if isinstance(named, dict):
        for name, entries in named.items():
            if not isinstance(entries, dict):
                raise UserError(f"catalogs.{name}: expected a mapping", Location(path))
            catalogs[str(name)] = {str(k): str(v) for k, v in entries.items()}
    return catalogs


def _expand(root: Path, patterns: list[str]) -> list[str]:
    """Folders (relative, POSIX) matched by the workspace globs, sorted."""
    include = [p.strip().rstrip("/") for p in patterns if not p.startswith("!")]
    exclude = [p[1:].strip().rstrip("/") for p in patterns if p.startswith("!")]
    found: set[str] = set()
    for pattern in include:
        if pattern in ("", "."):
            continue
        for manifest in root.glob(f"{pattern}/package.json"):
            folder = manifest.parent.relative_to(root).as_posix()
            if "node_modules" in folder.split("/"):
                continue
            if any(fnmatch.fnmatchcase(folder, ex) for ex in exclude):
                continue
            found.add(folder)
    return sorted(found)


def _read_package(root: Path, folder: str) -> Package:
    file = root / folder / "package.json"
    text, data = read_json(file)
    return _package(file, folder, text, data)


def parse_package(root: Path, folder: str, text: str) -> Package:
    """A package.json that is about to be written, read as the workspace will read it."""
    file = root / folder / "package.json"
    return _package(file, folder, text, decode_json(file, text))


def _package(file: Path, folder: str, text: str, data: Any) -> Package:
    if not isinstance(data, dict):
        raise UserError("expected a JSON object", Location(file, 1))
    name = data.get("name")
    if not isinstance(name, str) or not PACKAGE_NAME.fullmatch(name):
        line = json_key_line(text, "name")
        raise UserError(
            f'expected an npm package name in "name", got {name!r}', Location(file, line)
        )
    return Package(name=name, path=folder, file=file, text=text, data=data)


def _glob_match(folder: str, pattern: str) -> bool:
    """Path-segment glob matching as pnpm's globs mean it (``*`` stays in one segment)."""
    return _segments_match(folder.split("/"), pattern.split("/"))


def _segments_match(parts: list[str], pattern: list[str]) -> bool:
    if not pattern:
        return not parts
    if pattern[0] == "**":
        return any(_segments_match(parts[i:], pattern[1:]) for i in range(len(parts) + 1))
    return (
        bool(parts)
        and fnmatch.fnmatchcase(parts[0], pattern[0])
        and _segments_match(parts[1:], pattern[1:])
    )
