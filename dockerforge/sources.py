"""What a workspace package's own source code says: relative imports and required env vars.

The audit needs two facts that no package.json declares: a relative import that reaches into
another workspace package (allocation-worker loads ``../../admin-service/dist/...``), and the
environment variables a start-up check such as ``validateRequiredEnvVars()`` insists on. Both
are read from the TypeScript/JavaScript sources with small, line-aware scanners, not a parser:
they look for the few shapes those facts are written in and say nothing about anything else.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from dockerforge.errors import Location
from dockerforge.schema import ENV_NAME

SOURCE_SUFFIXES = (".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs")
# Build output, dependencies and caches: not the code a person wrote.
SKIP_DIRS = frozenset(
    {"node_modules", "dist", "build", "out", "coverage", ".turbo", ".next", ".git", "__tests__"}
)
_TEST_FILE = re.compile(r"\.(test|spec)\.[cm]?[jt]sx?$")
MAX_SOURCE_BYTES = 1_000_000
MAX_FILES_PER_PACKAGE = 5000

# import x from '../a'; import '../a'; export * from '../a'; import('../a'); require('../a')
_RELATIVE_IMPORT = re.compile(
    r"""(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s+)(['"])(\.\.?/[^'"\n]+)\1"""
)
# A function whose name says it checks the environment: validateRequiredEnvVars, requireEnv...
_VALIDATOR_NAME = r"(?:validate|require|assert|check|ensure)\w*Env\w*"
_VALIDATOR_DEF = re.compile(
    rf"\bfunction\s+({_VALIDATOR_NAME})\s*\(|\b(?:const|let|var)\s+({_VALIDATOR_NAME})\s*="
)
_STRING_ARRAY = re.compile(r"\[\s*((?:(['\"])[A-Z_][A-Z0-9_]*\2\s*,?\s*)+)\]")
_STRING = re.compile(r"""(['"])([A-Z_][A-Z0-9_]*)\1""")
_ENV_READ = re.compile(r"\benv\.([A-Z_][A-Z0-9_]*)|\benv\[\s*(['\"])([A-Z_][A-Z0-9_]*)\2\s*\]")


@dataclass(frozen=True)
class Import:
    """A relative import or require, and the repository path it reaches."""

    file: Path
    line: int
    specifier: str
    target: str  # repository-relative POSIX path the specifier resolves to

    def location(self) -> Location:
        return Location(self.file, self.line)


@dataclass(frozen=True)
class EnvGroup:
    """Variables a check requires: all of ``names`` when ``one_of`` is false, else any one."""

    names: tuple[str, ...]
    one_of: bool = False
    condition: str | None = None  # required only when this variable is set (e.g. DEPLOY_ENV)

    def describe(self) -> str:
        text = " | ".join(self.names) if self.one_of else ", ".join(self.names)
        if self.one_of:
            text = f"one of {text}"
        if self.condition:
            text += f" (when {self.condition} is set)"
        return text


@dataclass(frozen=True)
class EnvValidator:
    """A start-up check that throws when environment variables are missing."""

    name: str
    file: Path
    line: int
    groups: tuple[EnvGroup, ...]

    def location(self) -> Location:
        return Location(self.file, self.line)

    def describe(self) -> str:
        return "; ".join(group.describe() for group in self.groups)


@dataclass(frozen=True)
class Call:
    """A call of an :class:`EnvValidator`, with any variable names passed as literals."""

    validator: EnvValidator
    file: Path
    line: int
    names: tuple[str, ...]  # requireEnv('JWT_SECRET') -> ("JWT_SECRET",)

    def location(self) -> Location:
        return Location(self.file, self.line)


class PackageSources:
    """The source files of one workspace package, read once."""

    def __init__(self, root: Path, package_path: str, nested: frozenset[str] = frozenset()) -> None:
        """``nested``: folders of other packages inside this one, which are not its sources."""
        self.root = root
        self.package_path = package_path
        self.folder = root / package_path
        self.nested = frozenset(root / n for n in nested)

    @cached_property
    def files(self) -> tuple[tuple[Path, str], ...]:
        found: list[tuple[Path, str]] = []
        for path in _walk(self.folder, self.nested):
            if path.name.endswith(".d.ts") or _TEST_FILE.search(path.name):
                continue
            try:
                data = path.read_bytes()
            except OSError:
                continue
            if len(data) <= MAX_SOURCE_BYTES:
                found.append((path, data.decode("utf-8", errors="replace")))
            if len(found) >= MAX_FILES_PER_PACKAGE:
                break
        return tuple(found)

    def relative(self, path: Path) -> str:
        """A source file's path relative to the repository root."""
        return path.relative_to(self.root).as_posix()

    @cached_property
    def imports(self) -> tuple[Import, ...]:
        """Relative imports that leave this package's folder."""
        found = []
        for path, text in self.files:
            folder = path.parent.relative_to(self.root).as_posix()
            for match in _RELATIVE_IMPORT.finditer(text):
                specifier = match.group(2)
                target = posixpath.normpath(posixpath.join(folder, specifier))
                if target == self.package_path or target.startswith(self.package_path + "/"):
                    continue
                found.append(Import(path, line_of(text, match.start()), specifier, target))
        return tuple(found)

    @cached_property
    def validators(self) -> tuple[EnvValidator, ...]:
        found = []
        for path, text in self.files:
            for match in _VALIDATOR_DEF.finditer(text):
                name = match.group(1) or match.group(2)
                body = _function_body(text, match.end())
                if body is None:
                    continue
                groups = tuple(_env_groups(text, *body))
                if groups:
                    found.append(EnvValidator(name, path, line_of(text, match.start()), groups))
        return tuple(found)

    def calls(self, validators: tuple[EnvValidator, ...]) -> Iterator[Call]:
        """Calls of ``validators`` in this package (their own definitions excluded)."""
        for validator in validators:
            pattern = re.compile(rf"(?<![\w.$])(?<!function ){re.escape(validator.name)}\s*\(")
            for path, text in self.files:
                for match in pattern.finditer(text):
                    line = line_of(text, match.start())
                    if path == validator.file and line == validator.line:
                        continue
                    arguments = text[match.end() : text.find(")", match.end())]
                    names = tuple(m.group(2) for m in _STRING.finditer(arguments))
                    yield Call(validator, path, line, names)


def _walk(folder: Path, nested: frozenset[Path]) -> Iterator[Path]:
    if not folder.is_dir():
        return
    for entry in sorted(folder.iterdir()):
        if entry.is_symlink():
            continue
        if entry.is_dir():
            if (
                entry.name not in SKIP_DIRS
                and not entry.name.startswith(".")
                and entry not in nested
            ):
                yield from _walk(entry, nested)
        elif entry.suffix in SOURCE_SUFFIXES:
            yield entry


def line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _skip_string(text: str, index: int) -> int:
    """The index just past the string literal (or comment) starting at ``index``."""
    quote = text[index]
    if text.startswith("//", index):
        end = text.find("\n", index)
        return len(text) if end < 0 else end
    if text.startswith("/*", index):
        end = text.find("*/", index + 2)
        return len(text) if end < 0 else end + 2
    index += 1
    while index < len(text) and text[index] != quote:
        index += 2 if text[index] == "\\" else 1
    return index + 1


def _matching(text: str, start: int, open_: str, close: str) -> int | None:
    """The index of the bracket that closes the one at ``start``."""
    depth = 0
    index = start
    while index < len(text):
        char = text[index]
        if char in "'\"`" or text.startswith(("//", "/*"), index):
            index = _skip_string(text, index)
            continue
        if char == open_:
            depth += 1
        elif char == close:
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return None


def _function_body(text: str, after_name: int) -> tuple[int, int] | None:
    """(start, end) of the ``{...}`` body of the function declared just before ``after_name``."""
    open_paren = text.find("(", after_name - 1)
    if open_paren < 0:
        return None
    close_paren = _matching(text, open_paren, "(", ")")
    if close_paren is None:
        return None
    brace = text.find("{", close_paren)
    if brace < 0:
        return None
    end = _matching(text, brace, "{", "}")
    return None if end is None else (brace, end)


def _env_groups(text: str, start: int, end: int) -> Iterator[EnvGroup]:
    """The groups of variable names a validator body lists in string arrays."""
    body = text[start:end]
    for match in _STRING_ARRAY.finditer(body):
        names = tuple(m.group(2) for m in _STRING.finditer(match.group(1)))
        if not names or not all(ENV_NAME.fullmatch(n) for n in names):
            continue
        before = body[: match.start()]
        assigned = re.search(r"(?:const|let|var)\s+(\w+)\s*=\s*$", before)
        after = body[match.end() :]
        one_of = after.lstrip().startswith(".some(") or bool(
            assigned and re.search(rf"\b{assigned.group(1)}\s*\.\s*some\s*\(", body)
        )
        yield EnvGroup(names, one_of, _condition(body, match.start()))


def _condition(body: str, index: int) -> str | None:
    """The variable an ``if (env.X)`` block around ``index`` tests, if there is one."""
    depth = 0
    position = index
    while position > 0:
        position -= 1
        char = body[position]
        if char == "}":
            depth += 1
        elif char == "{":
            if depth == 0:
                if position == 0:
                    return None  # the function body itself
                head = re.search(r"\bif\s*\(([^{};]*)\)\s*$", body[:position])
                read = _ENV_READ.search(head.group(1)) if head else None
                if read:
                    return read.group(1) or read.group(3)
                return None
            depth -= 1
    return None
