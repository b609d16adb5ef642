"""The shape of ``dockerforge.yaml``, declared once.

The loader validates with these declarations and the README's manifest reference is written
from them. Every value that can reach a template is checked against a pattern here, so no
manifest value can smuggle a Dockerfile instruction, a quote or a newline into a rendering.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import get_close_matches
from typing import Any

from dockerforge.errors import Location, UserError

_SEGMENT = r"[A-Za-z0-9_][A-Za-z0-9._-]*"
NAME_PART = re.compile(r"[a-z0-9][a-z0-9._-]{0,213}")
SCOPE = re.compile(r"@[a-z0-9][a-z0-9._-]{0,213}")
PACKAGE_NAME = re.compile(r"(@[a-z0-9][a-z0-9._-]*/)?[a-z0-9][a-z0-9._-]*")
REL_DIR = re.compile(rf"{_SEGMENT}(/{_SEGMENT})*")
REL_FILE = REL_DIR
ENTRYPOINT = re.compile(rf"{_SEGMENT}(/{_SEGMENT})*\.(js|cjs|mjs)")
HEALTH_PATH = re.compile(r"/[A-Za-z0-9._~/?=&%-]*")
ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
SEMVER = re.compile(r"\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?")
_IMAGE_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
IMAGE_REF = re.compile(
    rf"(?:[a-z0-9.-]+(?::[0-9]+)?/)?{_IMAGE_COMPONENT}(?:/{_IMAGE_COMPONENT})*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?(?:@sha256:[a-f0-9]{64})?"
)

KINDS = ("http", "worker")
FAMILIES = ("alpine", "debian")


@dataclass(frozen=True)
class Field:
    """One key of a manifest mapping: its type, its constraint and what it means."""

    key: str
    type: str  # "str", "int", "list[str]" or "mapping"
    doc: str
    pattern: re.Pattern[str] | None = None
    expected: str = ""  # the pattern in words, for error messages
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    default: str = ""  # how the default is found, in words (for the docs)


@dataclass(frozen=True)
class Section:
    name: str
    doc: str
    fields: tuple[Field, ...] = field(default_factory=tuple)

    def get(self, key: str) -> Field | None:
        return next((f for f in self.fields if f.key == key), None)

    @property
    def keys(self) -> list[str]:
        return [f.key for f in self.fields]


ROOT = Section(
    "top level",
    "The manifest, `dockerforge.yaml`, at the root of the monorepo.",
    (
        Field("workspace", "mapping", "Where the monorepo's packages are.", default="inferred"),
        Field("image", "mapping", "Defaults for every image.", default="inferred"),
        Field(
            "templates",
            "str",
            "A folder of the repository searched for templates before the bundled ones "
            "(override `Dockerfile.j2`, or extend `dockerforge/Dockerfile.j2`).",
            REL_DIR,
            "a relative folder path inside the repository",
            default="none",
        ),
        Field("services", "mapping", "One entry per service, keyed by its folder name."),
    ),
)

WORKSPACE = Section(
    "workspace",
    "Where the monorepo's packages are. Most repositories state none of it.",
    (
        Field(
            "scope",
            "str",
            "The npm scope of the workspace packages.",
            SCOPE,
            "an npm scope such as @kodingcaravan",
            default="the scope of the shared package's name (none when packages are unscoped)",
        ),
        Field(
            "shared",
            "str",
            "Folder of the shared package that services depend on.",
            REL_DIR,
            "a relative folder path",
            default="`shared` when it holds a package.json",
        ),
        Field(
            "services",
            "str",
            "Folder that holds one folder per service.",
            REL_DIR,
            "a relative folder path",
            default="`services` (or `apps`, or the first `<folder>/*` workspace glob)",
        ),
        Field(
            "build_files",
            "list[str]",
            "Root files the builds need besides package.json and the pnpm files.",
            REL_FILE,
            "a relative file path",
            default="the root `tsconfig*.json` files",
        ),
    ),
)

IMAGE = Section(
    "image",
    "Defaults for every image.",
    (
        Field(
            "node",
            "str",
            "Node.js base image, used by every stage.",
            IMAGE_REF,
            "an image reference such as node:18-alpine",
            default="`node:<major>-alpine` from the root package.json `engines.node`",
        ),
        Field(
            "family",
            "str",
            "Distribution family of the base image: which package manager and user tools.",
            choices=FAMILIES,
            default="`alpine` when the image tag says so, else `debian`",
        ),
        Field(
            "pnpm",
            "str",
            "pnpm version installed in the build stages.",
            SEMVER,
            "a version such as 9.15.9",
            default="the root package.json `packageManager` field",
        ),
    ),
)

SERVICE = Section(
    "service",
    "One service. A typical entry is two lines: its name and its port (or `kind: worker`).",
    (
        Field(
            "kind",
            "str",
            "`http` (listens on a port, gets EXPOSE and HEALTHCHECK) or `worker`.",
            choices=KINDS,
            default="`http` when a port is given, else `worker`",
        ),
        Field(
            "port",
            "int",
            "Port the service listens on (http only); exported as PORT.",
            minimum=1,
            maximum=65535,
            default="none",
        ),
        Field(
            "health",
            "str",
            "Health-check path (http only).",
            HEALTH_PATH,
            "a URL path starting with /",
            default="`/health`",
        ),
        Field(
            "deps",
            "list[str]",
            "Other services this one needs at runtime beyond its package.json, e.g. a "
            "service that imports another's dist by relative path.",
            NAME_PART,
            "a service name",
            default="none",
        ),
        Field(
            "entrypoint",
            "str",
            "Script that `node` runs, relative to the service folder.",
            ENTRYPOINT,
            "a relative .js/.cjs/.mjs path such as dist/index.js",
            default="`dist/index.js`",
        ),
        Field(
            "env",
            "list[str]",
            "Environment variables the service requires at runtime (used by audit and ecs).",
            ENV_NAME,
            "an environment variable name such as JWT_SECRET",
            default="none",
        ),
        Field(
            "path",
            "str",
            "Folder of the service, when it is not `<workspace.services>/<name>`.",
            REL_DIR,
            "a relative folder path",
            default="`<workspace.services>/<name>`",
        ),
    ),
)


def unknown_key_message(section: Section, key: object) -> str:
    message = f"unknown key {key!r} in {section.name}"
    close = get_close_matches(str(key), section.keys, n=1, cutoff=0.6)
    if close:
        return f"{message}; did you mean {close[0]!r}?"
    return f"{message}; expected one of: {', '.join(section.keys)}"


def check_scalar(spec: Field, value: Any, where: str, location: Location) -> Any:
    """Validate one scalar (or one list item) against ``spec``; return the clean value."""
    if spec.type == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise UserError(f"{where}: expected an integer, got {_show(value)}", location)
        if (spec.minimum is not None and value < spec.minimum) or (
            spec.maximum is not None and value > spec.maximum
        ):
            raise UserError(
                f"{where}: expected an integer from {spec.minimum} to {spec.maximum}, got {value}",
                location,
            )
        return value
    if not isinstance(value, str):
        raise UserError(f"{where}: expected a string, got {_show(value)}", location)
    if spec.choices and value not in spec.choices:
        options = " or ".join(repr(c) for c in spec.choices)
        raise UserError(f"{where}: expected {options}, got {value!r}", location)
    if spec.pattern is not None and not spec.pattern.fullmatch(value):
        raise UserError(f"{where}: expected {spec.expected}, got {value!r}", location)
    return value


def _show(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)
