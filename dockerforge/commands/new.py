"""``dockerforge new``: scaffold a service, declare it and render its Dockerfile.

Everything is computed first (the service's files from the ``scaffold/`` templates, the
edited manifest, the Dockerfile) and proved to load with the real manifest loader; only then
is anything written. A refusal, a missing answer or a template mistake writes nothing.

The scaffold is deliberately plain: an http service is a ``node:http`` server (no helper that
only some repositories' shared package has) and a worker is a timer loop; both import the
shared package (its ``./worker`` entry for a worker, when it exports one) so a broken runtime
layout fails at boot, and both exit 0 on SIGTERM.
"""

from __future__ import annotations

import json
import posixpath
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockerforge.errors import Location, UserError
from dockerforge.fsutil import inside, read_if_exists, write_files
from dockerforge.manifest import DEFAULT_ENTRYPOINT, DEFAULT_HEALTH, MANIFEST_NAME, load_manifest
from dockerforge.manifest_edit import ServiceEntry, add_service
from dockerforge.model import Manifest, Service
from dockerforge.render import (
    DOCKERIGNORE,
    environment,
    render_dockerignore,
    render_files,
    render_template,
)
from dockerforge.schema import ENV_NAME, HEALTH_PATH, KINDS, NAME_PART
from dockerforge.workspace import Package, Workspace, parse_package
from dockerforge.yamlfile import read_text

FIRST_PORT = 3000
SOURCE_DIR = "src"
DEFAULT_BUILD = "tsc -p tsconfig.json"
# What "the TypeScript setup the other services use" means in a sibling's devDependencies.
TOOLCHAIN_DEV_DEPENDENCIES = ("typescript", "@types/node")
INSTALL_COMMAND = ("pnpm", "install", "--no-frozen-lockfile")  # CI=true defaults to frozen


@dataclass(frozen=True)
class Request:
    """The answers, from flags or prompts; None or empty where nothing was said."""

    name: str
    kind: str | None = None
    port: int | None = None
    health: str | None = None
    deps: tuple[str, ...] = ()
    env: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    """Everything ``new`` will write, computed and validated, not yet written."""

    root: Path
    entry: ServiceEntry
    service: Service  # as the manifest loader sees it once the files exist
    files: tuple[tuple[str, str], ...]  # (path relative to the root, text), in write order
    manifest_entry: str  # the lines added to dockerforge.yaml

    @property
    def package(self) -> str:
        return self.service.package

    @property
    def path(self) -> str:
        return self.service.path


@dataclass(frozen=True)
class Created:
    plan: Plan
    written: tuple[str, ...]
    install_code: int | None = None  # None: pnpm install was not run

    @property
    def installed(self) -> bool:
        return self.install_code == 0

    def summary(self) -> str:
        entry = self.plan.entry
        if entry.kind == "http":
            what = f"http on port {entry.port}, health {entry.health or DEFAULT_HEALTH}"
        else:
            what = "worker"
        return f"created {entry.name} ({what}) in {self.plan.path}"

    def next_steps(self) -> list[str]:
        plan = self.plan
        steps = []
        if not self.installed:
            steps.append(
                "pnpm install  # updates pnpm-lock.yaml; until then every image build fails "
                "at `pnpm install --frozen-lockfile`"
            )
        steps += [
            f"pnpm --filter {plan.package}... build  # the service and what it depends on",
            f"docker build -f {plan.service.dockerfile} .  # from the repository root",
            f"git add {MANIFEST_NAME} pnpm-lock.yaml {plan.path}",
        ]
        return steps


# -- validation ------------------------------------------------------------------------------
def check_name(manifest: Manifest, name: str) -> None:
    """Refuse a name that is not an npm name part or that is already taken."""
    if not NAME_PART.fullmatch(name):
        raise UserError(
            f"{name!r} is not a valid service name: use lowercase letters, digits, '.', '_' "
            "and '-', starting with a letter or digit (it becomes part of an npm package name)"
        )
    existing = manifest.service(name)
    if existing is not None:
        raise UserError(
            f"service {name!r} already exists ({_where(manifest, existing)}); choose another name"
        )
    folder = f"{manifest.services_dir}/{name}"
    target = inside(manifest.root, folder)
    if target.exists() or target.is_symlink():
        raise UserError(f"{folder} already exists; choose another name or remove that folder")
    package = manifest.package_name(name)
    other = manifest.workspace.packages.get(package)
    if other is not None:
        raise UserError(f"package {package} already exists in {other.path}; choose another name")


def suggest_port(manifest: Manifest) -> int:
    """The first free port after the highest one the manifest uses (3000 when none)."""
    taken = {s.port for s in manifest.services if s.port is not None}
    port = max(taken) + 1 if taken else FIRST_PORT
    if port > 65535:
        port = FIRST_PORT
    while port in taken:
        port += 1
    return port


def port_problem(manifest: Manifest, port: int) -> str | None:
    if not 1 <= port <= 65535:
        return f"port {port} is not between 1 and 65535"
    taken = next((s for s in manifest.services if s.port == port), None)
    if taken is not None:
        return (
            f"port {port} is already used by {taken.name} ({_where(manifest, taken)}); "
            f"the next free one is {suggest_port(manifest)}"
        )
    return None


def env_problem(names: tuple[str, ...]) -> str | None:
    bad = [n for n in names if not ENV_NAME.fullmatch(n)]
    if bad:
        return (
            f"{', '.join(repr(n) for n in bad)}: an environment variable name is uppercase "
            "letters, digits and '_', such as JWT_SECRET"
        )
    return None


def health_problem(path: str) -> str | None:
    if not HEALTH_PATH.fullmatch(path):
        return f"{path!r} is not a URL path starting with / (e.g. /health)"
    return None


def split_names(values: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Items given as repeated flags, comma or space separated; duplicates dropped."""
    names = [part for value in values for part in re.split(r"[,\s]+", value) if part]
    return tuple(dict.fromkeys(names))


def resolve(manifest: Manifest, request: Request) -> ServiceEntry:
    """The manifest entry the answers describe, or the first thing missing or wrong."""
    check_name(manifest, request.name)
    kind = request.kind
    if kind is None and request.port is not None:
        kind = "http"  # as in the manifest, a port means http
    if kind is None:
        raise UserError(
            f"say what {request.name} is: --kind http (with --port) or --kind worker "
            "(nothing is asked without a terminal or once answers are given as flags)"
        )
    if kind not in KINDS:
        raise UserError(f"--kind: expected {' or '.join(KINDS)}, got {kind!r}")
    if kind == "http":
        if request.port is None:
            raise UserError(
                f"an http service needs a port: add --port {suggest_port(manifest)} "
                "(the next free one)"
            )
        problem = port_problem(manifest, request.port)
        if problem:
            raise UserError(f"--port: {problem}")
        if request.health is not None and health_problem(request.health):
            raise UserError(f"--health: {health_problem(request.health)}")
    else:
        for flag, value in (("--port", request.port), ("--health", request.health)):
            if value is not None:
                raise UserError(f"{flag}: a worker has no {flag[2:]} (use --kind http)")
    deps = split_names(request.deps)
    for dep in deps:
        if manifest.service(dep) is None:
            raise UserError(
                f"--dep: unknown service {dep!r}{_suggest(dep, manifest)} "
                f"(the manifest has: {', '.join(s.name for s in manifest.services)})"
            )
    env = split_names(request.env)
    problem = env_problem(env)
    if problem:
        raise UserError(f"--env: {problem}")
    health = request.health if request.health not in (None, DEFAULT_HEALTH) else None
    return ServiceEntry(
        name=request.name,
        kind=kind,
        port=request.port if kind == "http" else None,
        health=health,
        deps=deps,
        env=env,
    )


# -- planning --------------------------------------------------------------------------------
def plan(manifest: Manifest, request: Request) -> Plan:
    """Compute every file ``new`` writes and prove the result loads; write nothing."""
    entry = resolve(manifest, request)
    folder = f"{manifest.services_dir}/{entry.name}"
    scaffold = _scaffold(manifest, manifest.workspace, entry, folder)

    manifest_text = read_text(manifest.file)
    edit = add_service(manifest.file, manifest_text, entry, after=_neighbour(manifest, entry))

    loaded = _load_with(manifest, edit.text, folder, scaffold[f"{folder}/package.json"])
    service = loaded.service(entry.name)
    assert service is not None
    env = environment(loaded)
    dockerfile = render_files(loaded, [entry.name])[0]
    files = [*scaffold.items(), (dockerfile.path, dockerfile.text)]
    # A new output folder changes the shared .dockerignore: keep it current if it was.
    ignore_old = render_dockerignore(manifest, environment(manifest))
    ignore_new = render_dockerignore(loaded, env)
    if ignore_new != ignore_old and read_if_exists(manifest.root, DOCKERIGNORE) == ignore_old:
        files.append((DOCKERIGNORE, ignore_new))
    files.append((MANIFEST_NAME, edit.text))  # last: never declare a half-written service
    return Plan(
        root=manifest.root,
        entry=entry,
        service=service,
        files=tuple(files),
        manifest_entry=edit.entry,
    )


def _neighbour(manifest: Manifest, entry: ServiceEntry) -> str | None:
    """Group the new entry with the last service of its kind."""
    same = [s.name for s in manifest.services if s.kind == entry.kind]
    return same[-1] if same else None


def _sibling(manifest: Manifest, workspace: Workspace, kind: str) -> Package | None:
    """An existing service to copy conventions from: one of the same kind first."""
    ordered = sorted(manifest.services, key=lambda s: s.kind != kind)
    for service in ordered:
        package = workspace.packages.get(service.package)
        if package is not None and package.has_script("build"):
            return package
    return None


def _scaffold(
    manifest: Manifest, workspace: Workspace, entry: ServiceEntry, folder: str
) -> dict[str, str]:
    """The service's own files, rendered from the ``scaffold/`` templates."""
    sibling = _sibling(manifest, workspace, entry.kind)
    shared = workspace.by_path(manifest.shared) if manifest.shared else None
    sibling_data = sibling.data if sibling is not None else {}
    build = (sibling_data.get("scripts") or {}).get("build") if sibling else None
    if not isinstance(build, str) or not build.startswith("tsc"):
        build = DEFAULT_BUILD  # the scaffold is a plain tsc project
    version = sibling_data.get("version")
    out_dir = DEFAULT_ENTRYPOINT.split("/", 1)[0]
    context: dict[str, Any] = {
        "name": entry.name,
        "kind": entry.kind,
        "package": manifest.package_name(entry.name),
        "version": version if isinstance(version, str) else "1.0.0",
        "private": sibling_data.get("private", True) is True,
        "entrypoint": DEFAULT_ENTRYPOINT,
        "scripts": {"build": build, "start": f"node {DEFAULT_ENTRYPOINT}"},
        "dependencies": {shared.name: "workspace:*"} if shared else {},
        "dev_dependencies": _dev_dependencies(sibling),
        "extends": _tsconfig_extends(manifest.root, sibling, folder),
        "root_dir": SOURCE_DIR,
        "out_dir": out_dir,
        "port": entry.port,
        "health": entry.health or DEFAULT_HEALTH,
        "env": entry.env,
        "shared_import": _shared_import(shared, entry.kind),
    }
    env = environment(manifest)
    env.filters["json"] = _json
    env.filters["quote"] = _quote
    package_json = render_template(env, "scaffold/package.json.j2", **context)
    _check_package_json(manifest, package_json, context)
    return {
        f"{folder}/package.json": package_json,
        f"{folder}/tsconfig.json": render_template(env, "scaffold/tsconfig.json.j2", **context),
        f"{folder}/{SOURCE_DIR}/index.ts": render_template(
            env, f"scaffold/{entry.kind}.ts.j2", **context
        ),
    }


def _dev_dependencies(sibling: Package | None) -> dict[str, str]:
    if sibling is None:
        return {}
    found = sibling.dependencies(("devDependencies",))
    return {
        name: spec
        for name, spec in found.items()
        if name in TOOLCHAIN_DEV_DEPENDENCIES or spec.startswith("workspace:")
    }


def _tsconfig_extends(root: Path, sibling: Package | None, folder: str) -> str | None:
    """What the new tsconfig extends: the sibling's base, else a root tsconfig.base.json."""
    if sibling is not None:
        try:
            data = json.loads(read_text(root / sibling.path / "tsconfig.json"))
        except (UserError, json.JSONDecodeError):  # absent, or JSON with comments
            data = None
        base = data.get("extends") if isinstance(data, dict) else None
        if isinstance(base, str):
            if not base.startswith("."):
                return base  # a package such as @acme/tsconfig/base.json
            target = posixpath.normpath(posixpath.join(sibling.path, base))
            return posixpath.relpath(target, folder)
    if (root / "tsconfig.base.json").is_file():
        return posixpath.relpath("tsconfig.base.json", folder)
    return None


def _shared_import(shared: Package | None, kind: str) -> str | None:
    if shared is None:
        return None
    exports = shared.data.get("exports")
    if kind == "worker" and isinstance(exports, dict) and "./worker" in exports:
        return f"{shared.name}/worker"
    return shared.name


def _json(value: Any, indent: int | None = None) -> str:
    """A JSON value; with ``indent``, pretty-printed for a key that many spaces deep."""
    if indent is None:
        return json.dumps(value, ensure_ascii=False)
    text = json.dumps(value, indent=2, ensure_ascii=False)
    return text.replace("\n", "\n" + " " * indent)


def _quote(value: str) -> str:
    """A single-quoted TypeScript string literal."""
    inner = json.dumps(str(value), ensure_ascii=False)[1:-1]
    return "'" + inner.replace('\\"', '"').replace("'", "\\'") + "'"


def _check_package_json(manifest: Manifest, text: str, context: dict[str, Any]) -> None:
    """A repository's own package.json template must still produce the package it names."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(
            f"template scaffold/package.json.j2 renders invalid JSON: {exc.msg} "
            f"(rendered line {exc.lineno})",
            _template_location(manifest, "scaffold/package.json.j2"),
        ) from None
    for key in ("name", "main"):
        expected = context["package" if key == "name" else "entrypoint"]
        if not isinstance(data, dict) or data.get(key) != expected:
            raise UserError(
                f'template scaffold/package.json.j2 must render "{key}": "{expected}"',
                _template_location(manifest, "scaffold/package.json.j2"),
            )


def _template_location(manifest: Manifest, name: str) -> Location | None:
    if manifest.templates is not None and (manifest.templates / name).is_file():
        return Location(manifest.templates / name)
    return None


def _load_with(manifest: Manifest, manifest_text: str, folder: str, package_json: str) -> Manifest:
    """Load the manifest as it will be once the new files exist, without writing them."""
    package = parse_package(manifest.root, folder, package_json)
    workspace = manifest.workspace.with_package(package)
    try:
        return load_manifest(manifest.root, text=manifest_text, workspace=workspace)
    except UserError as exc:
        raise UserError(f"the new service would not load: {exc.message}", exc.location) from None


# -- doing it --------------------------------------------------------------------------------
def write(plan: Plan) -> tuple[str, ...]:
    """Write the plan's files; every path is checked before the first write."""
    changed = write_files(plan.root, list(plan.files))
    return tuple(relative for (relative, _), c in zip(plan.files, changed, strict=True) if c)


def find_pnpm() -> str:
    pnpm = shutil.which("pnpm")
    if pnpm is None:
        raise UserError(
            "--install runs `pnpm install`, but pnpm is not on PATH "
            "(install it, e.g. `corepack enable pnpm`, or leave out --install)"
        )
    return pnpm


def pnpm_install(root: Path, pnpm: str, *, quiet: bool = False) -> int:
    """Run ``pnpm install`` so pnpm-lock.yaml includes the new package; its exit code."""
    output = subprocess.DEVNULL if quiet else None
    return subprocess.run(
        [pnpm, *INSTALL_COMMAND[1:]], cwd=root, stdout=output, check=False
    ).returncode


def create(
    manifest: Manifest, request: Request, *, install: bool = False, quiet: bool = False
) -> Created:
    """Scaffold, declare and render a service; with ``install``, update pnpm-lock.yaml.

    This is the whole of ``dockerforge new`` without the prompts, for scripts and tests.
    Raises :class:`UserError` before writing anything; a failed ``pnpm install`` (after the
    files are written) is reported in :attr:`Created.install_code`.
    """
    planned = plan(manifest, request)
    pnpm = find_pnpm() if install else None
    written = write(planned)
    code = pnpm_install(manifest.root, pnpm, quiet=quiet) if pnpm is not None else None
    return Created(plan=planned, written=written, install_code=code)


# -- prompts ---------------------------------------------------------------------------------
def ask(
    manifest: Manifest,
    name: str,
    *,
    install: bool,
    prompt_options: dict[str, Any] | None = None,
) -> tuple[Request, bool] | None:
    """Ask for what a service needs; None when the user declines to create it.

    ``prompt_options`` go to every prompt (tests pass a pipe input and a dummy output).
    """
    import questionary  # only here: it costs startup time every other command does not need

    check_name(manifest, name)  # before asking anything
    options = prompt_options or {}

    def validator(problem: Callable[[str], str | None]) -> Callable[[str], bool | str]:
        return lambda text: problem(text) or True

    kind = questionary.select(
        f"What is {name}?",
        choices=[
            questionary.Choice("http: listens on a port, health-checked", value="http"),
            questionary.Choice("worker: no port", value="worker"),
        ],
        **options,
    ).unsafe_ask()
    port = health = None
    if kind == "http":
        port = int(
            questionary.text(
                "Port",
                default=str(suggest_port(manifest)),
                validate=validator(lambda text: _port_text_problem(manifest, text)),
                **options,
            ).unsafe_ask()
        )
        health = questionary.text(
            "Health-check path",
            default=DEFAULT_HEALTH,
            validate=validator(health_problem),
            **options,
        ).unsafe_ask()
    deps: list[str] = []
    if manifest.services:
        deps = questionary.checkbox(
            "Other services it needs at runtime beyond its package.json "
            "(space selects, enter confirms)",
            choices=[s.name for s in manifest.services],
            **options,
        ).unsafe_ask()
    env = questionary.text(
        "Required environment variables (space or comma separated; empty for none)",
        validate=validator(lambda text: env_problem(split_names([text]))),
        **options,
    ).unsafe_ask()
    if not install and shutil.which("pnpm") is not None:
        install = questionary.confirm(
            "Run pnpm install afterwards to update pnpm-lock.yaml?", default=True, **options
        ).unsafe_ask()
    folder = f"{manifest.services_dir}/{name}"
    if not questionary.confirm(
        f"Create {folder} and add {name} to {MANIFEST_NAME}?", default=True, **options
    ).unsafe_ask():
        return None
    request = Request(
        name=name,
        kind=kind,
        port=port,
        health=health,
        deps=tuple(deps),
        env=split_names([env]),
    )
    return request, bool(install)


def _port_text_problem(manifest: Manifest, text: str) -> str | None:
    if not text.strip().isdigit():
        return "a port is a number, e.g. 3012"
    return port_problem(manifest, int(text))


# -- helpers ---------------------------------------------------------------------------------
def _where(manifest: Manifest, service: Service) -> str:
    return str(Location(manifest.file, service.line))


def _suggest(name: str, manifest: Manifest) -> str:
    from difflib import get_close_matches

    close = get_close_matches(name, [s.name for s in manifest.services], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""
