"""``dockerforge init``: write a commented ``dockerforge.yaml`` inferred from the repository.

:func:`dockerforge.infer.infer_manifest` decides every value and where it came from; this
module turns that into the manifest's text (through ``templates/dockerforge.yaml.j2``),
proves the text loads with the real manifest loader, and only then writes it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import jinja2

from dockerforge.errors import Location, UserError
from dockerforge.fsutil import write_atomic
from dockerforge.infer import Inferred, InferredManifest, InferredService, infer_manifest
from dockerforge.manifest import DEFAULT_ENTRYPOINT, DEFAULT_HEALTH, MANIFEST_NAME, load_manifest
from dockerforge.model import Manifest
from dockerforge.resources import bundled_templates

TEMPLATE = "dockerforge.yaml.j2"
_PLAIN = re.compile(r"[A-Za-z0-9_./][A-Za-z0-9_./:@-]*")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}
# What a YAML 1.1 or 1.2 reader would take for a number (sexagesimal included).
_NUMBER = re.compile(
    r"[-+]?(\.\d+|\d[\d_]*(\.[\d_]*)?)([eE][-+]?\d+)?|0[xo][0-9a-fA-F_]+|\d+(:[0-5]?\d)+"
)


@dataclass(frozen=True)
class Entry:
    """One ``key: value  # comment`` line of the manifest."""

    key: str
    value: str  # YAML text
    comment: str = ""


@dataclass(frozen=True)
class ServiceBlock:
    name: str
    fields: tuple[Entry, ...]
    deps: tuple[Entry, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class InitResult:
    inferred: InferredManifest
    text: str
    manifest: Manifest  # the text, loaded by the real loader
    written: bool


def init(root: Path, *, force: bool = False, write: bool = True) -> InitResult:
    """Infer, render and prove the manifest; write it when ``write`` (never over one
    that exists unless ``force``)."""
    root = root.resolve()
    target = root / MANIFEST_NAME
    if write and target.exists() and not force:
        raise UserError("already exists; pass --force to replace it", Location(target))
    if not (root / "package.json").is_file():
        raise UserError(
            f"no package.json in {root}: run `dockerforge init` at the monorepo root or pass --repo"
        )
    inferred = infer_manifest(root)
    if not inferred.services:
        raise UserError(f"found no Node.js service to declare in {root}{_skipped_note(inferred)}")
    text = render_manifest(inferred)
    manifest = prove(root, text)
    written = write_atomic(root, MANIFEST_NAME, text) if write else False
    return InitResult(inferred, text, manifest, written)


# -- the manifest's text ---------------------------------------------------------------
def render_manifest(inferred: InferredManifest) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(bundled_templates()),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    services = [_service_block(inferred, s) for s in inferred.services]
    http = [b for b, s in zip(services, inferred.services, strict=True) if s.is_http]
    workers = [b for b, s in zip(services, inferred.services, strict=True) if not s.is_http]
    http.sort(key=lambda b: (int(b.fields[0].value), b.name))
    return env.get_template(TEMPLATE).render(
        globs=comment(", ".join(inferred.globs.value) + f" ({inferred.globs.source})"),
        workspace=_workspace_entries(inferred),
        image=_image_entries(inferred),
        missing=_missing(inferred),
        http=http,
        workers=workers,
        libraries=[comment(f"{lib.path} ({lib.name})") for lib in inferred.libraries],
        skipped=[comment(f"{s.path}: {s.reason}") for s in inferred.skipped],
        unsure=count_unsure(inferred),
    )


def _workspace_entries(inferred: InferredManifest) -> list[Entry]:
    entries = []
    if inferred.scope is not None:
        entries.append(_entry("scope", inferred.scope))
    if inferred.shared is not None:
        entries.append(_entry("shared", inferred.shared))
    entries.append(_entry("services", inferred.services_dir))
    return entries


def _image_entries(inferred: InferredManifest) -> list[Entry]:
    entries = [_entry("node", inferred.node), _entry("family", inferred.family)]
    if inferred.pnpm is not None:
        entries.append(_entry("pnpm", inferred.pnpm))
    return entries


def _missing(inferred: InferredManifest) -> list[str]:
    if inferred.pnpm is not None:
        return []
    return [
        "pnpm: not found (no packageManager in package.json, no pnpm@X.Y.Z in a Dockerfile);"
        " set it, e.g. pnpm: 9.15.9"
    ]


def _service_block(inferred: InferredManifest, service: InferredService) -> ServiceBlock:
    fields: list[Entry] = []
    if service.is_http:
        assert service.port is not None
        source = service.port.source
        sure = service.port.sure and service.kind.sure
        if service.kind.source != source:
            source = f"{source}; http: {service.kind.source}"
        fields.append(Entry("port", yaml_scalar(service.port.value), _comment_for(source, sure)))
        health = service.health
        if health is not None and (health.value != DEFAULT_HEALTH or not health.sure):
            fields.append(_entry("health", health))
    else:
        fields.append(_entry("kind", service.kind))
    entrypoint = service.entrypoint
    if entrypoint.value != DEFAULT_ENTRYPOINT or not entrypoint.sure:
        fields.append(_entry("entrypoint", entrypoint))
    if service.path != f"{inferred.services_dir.value}/{service.name}":
        fields.append(Entry("path", yaml_scalar(service.path)))
    deps = tuple(
        Entry("-", yaml_scalar(dep.value), _comment_for(f"from {dep.source}", dep.sure))
        for dep in service.deps
    )
    return ServiceBlock(service.name, tuple(fields), deps, tuple(comment(n) for n in service.notes))


def _entry(key: str, inferred: Inferred[object]) -> Entry:
    return Entry(key, yaml_scalar(inferred.value), _comment_for(inferred.source, inferred.sure))


def _comment_for(source: str, sure: bool) -> str:
    return comment(source if sure else f"unsure: {source}")


def yaml_scalar(value: object) -> str:
    """A value as YAML text: plain when that is unambiguous, else a quoted string."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(f"unexpected manifest value {value!r}")
    if isinstance(value, int):
        return str(value)
    if (
        _PLAIN.fullmatch(value)
        and value.lower() not in _YAML_WORDS
        and not _NUMBER.fullmatch(value)
    ):
        return value
    return json.dumps(value)  # a JSON string is a YAML double-quoted scalar


def comment(text: str) -> str:
    """One line of comment text: no newline or control character can end the comment."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def count_unsure(inferred: InferredManifest) -> int:
    return sum(1 for _, value in _all_values(inferred) if not value.sure)


def _all_values(inferred: InferredManifest) -> list[tuple[str, Inferred[object]]]:
    values: list[tuple[str, Inferred[object] | None]] = [
        ("workspace.scope", inferred.scope),
        ("workspace.shared", inferred.shared),
        ("workspace.services", inferred.services_dir),
        ("image.node", inferred.node),
        ("image.family", inferred.family),
        ("image.pnpm", inferred.pnpm),
    ]
    for service in inferred.services:
        where = f"services.{service.name}"
        values.append((f"{where}.kind", service.kind))
        values.append((f"{where}.port", service.port))
        if service.health is not None and (
            service.health.value != DEFAULT_HEALTH or not service.health.sure
        ):
            values.append((f"{where}.health", service.health))
        values.append((f"{where}.entrypoint", service.entrypoint))
        values += [(f"{where}.deps", dep) for dep in service.deps]
    return [(key, value) for key, value in values if value is not None]


# -- proof and report ------------------------------------------------------------------
def prove(root: Path, text: str) -> Manifest:
    """Load ``text`` with the real loader, as if it were the repository's manifest."""
    try:
        return load_manifest(root, text=text)
    except UserError as exc:
        raise UserError(
            f"the inferred manifest does not load ({exc}); nothing written. "
            "Run `dockerforge init --stdout`, correct it and save it as "
            f"{MANIFEST_NAME}"
        ) from None


def report(result: InitResult) -> list[str]:
    """What was inferred and from where, one line each."""
    inferred = result.inferred
    lines = [f"workspace packages: {', '.join(inferred.globs.value)} ({inferred.globs.source})"]
    for key, value in _all_values(inferred)[:6]:
        lines.append(f"{key}: {value.value} ({_source(value)})")
    if inferred.pnpm is None:
        lines.append("image.pnpm: not found; set it in the manifest")
    for service in inferred.services:
        if service.is_http and service.port is not None:
            what = f"http, port {service.port.value} ({_source(service.port)})"
        else:
            what = f"worker ({_source(service.kind)})"
        lines.append(f"{service.name}: {what}")
        if service.path != f"{inferred.services_dir.value}/{service.name}":
            lines.append(f"{service.name}: path {service.path}")
        if service.entrypoint.value != DEFAULT_ENTRYPOINT or not service.entrypoint.sure:
            lines.append(
                f"{service.name}: entrypoint {service.entrypoint.value} "
                f"({_source(service.entrypoint)})"
            )
        for dep in service.deps:
            lines.append(f"{service.name}: extra dep {dep.value}, from {dep.source}")
        lines += [f"{service.name}: note: {note}" for note in service.notes]
    lines += [f"library: {lib.path} ({lib.name})" for lib in inferred.libraries]
    lines += [f"skipped {s.path}: {s.reason}" for s in inferred.skipped]
    unsure = count_unsure(inferred)
    if unsure:
        lines.append(f'{unsure} value{"s" if unsure != 1 else ""} marked "unsure": check them')
    return lines


def summary(result: InitResult) -> str:
    inferred = result.inferred
    counts = (
        f"{len(inferred.services)} services, {len(inferred.libraries)} "
        f"librar{'y' if len(inferred.libraries) == 1 else 'ies'}, "
        f"{len(inferred.skipped)} skipped"
    )
    if result.written:
        return f"wrote {MANIFEST_NAME}: {counts}"
    return f"{MANIFEST_NAME} unchanged: {counts}"


def _source(value: Inferred[object]) -> str:
    return value.source if value.sure else f"unsure: {value.source}"


def _skipped_note(inferred: InferredManifest) -> str:
    if not inferred.skipped:
        return ""
    return " (skipped: " + "; ".join(f"{s.path}: {s.reason}" for s in inferred.skipped) + ")"
