"""What a monorepo says about its own services, without a manifest.

:func:`infer_manifest` reads pnpm-workspace.yaml (or the root package.json ``workspaces``),
every workspace package.json, the committed Dockerfiles (through
:mod:`dockerforge.dockerfile`) and, where those are silent, the services' sources. Every
value it returns says where it came from (:class:`Inferred`), and whether it is a guess.
``dockerforge init`` writes the result as a commented manifest; other commands (the audit)
can use it to work on a repository that has no manifest yet.

Packages dockerforge does not render (a Next.js app, a static frontend served by nginx, a
non-Node service) are listed in :attr:`InferredManifest.skipped` with the reason.
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from dockerforge.dockerfile import (
    HealthCheck,
    ParsedDockerfile,
    image_name,
    is_node_image,
    parse_dockerfile,
)
from dockerforge.errors import UserError
from dockerforge.manifest import DEFAULT_ENTRYPOINT, DEFAULT_HEALTH, family_of
from dockerforge.schema import ENTRYPOINT, HEALTH_PATH, NAME_PART, SCOPE, SEMVER
from dockerforge.sources import Import, PackageSources, line_of
from dockerforge.workspace import ALL_SECTIONS, RUNTIME_SECTIONS, Package, Workspace, read_workspace

T = TypeVar("T")

FALLBACK_PORT = 3000
FALLBACK_NODE_MAJOR = 20
# What marks a folder matched by the workspace globs as a service in another language.
OTHER_LANGUAGES = {
    "pyproject.toml": "Python",
    "requirements.txt": "Python",
    "setup.py": "Python",
    "go.mod": "Go",
    "Cargo.toml": "Rust",
    "pom.xml": "Java",
    "build.gradle": "Java",
    "Gemfile": "Ruby",
    "composer.json": "PHP",
}
STATIC_SERVERS = ("nginx", "httpd", "caddy", "lighttpd")
FRONTEND_TOOLS = ("vite", "react-scripts", "@angular/core", "@vue/cli-service", "parcel", "astro")
SERVER_FRAMEWORKS = ("express", "fastify", "koa", "@nestjs/core", "@hapi/hapi", "hono")

_LISTEN_LITERAL = re.compile(r"\.listen\(\s*(\d{2,5})\b")
_LISTEN_FALLBACK = re.compile(
    r"\.listen\(\s*(?:process\.env\.PORT|PORT|port)\s*(?:\|\||\?\?)\s*(\d{2,5})\b"
)
_PORT_DEFAULT = re.compile(r"\b(?:PORT|port)\s*(?:=|:)\s*[^;\n]*?(?:\|\||\?\?)\s*['\"]?(\d{2,5})\b")
_SERVE_CALL = re.compile(
    r"\b\w*(?:Http|http|Server|server|[Ss]erve|[Ll]isten)\w*\(\s*[^()\n]*?\b(\d{2,5})\s*[,)]"
)
_LISTENS = re.compile(r"\.listen\(|\bcreateServer\(|\b\w*(?:Http|Server)\w*\(")
_HEALTH_ROUTE = re.compile(
    r"""['"`](/(?:health|healthz|healthcheck|ready|readyz|livez|status|ping)[A-Za-z0-9._~/-]*)['"`]"""
)
_PNPM_PIN = re.compile(r"\bpnpm@(\d+\.\d+\.\d+)\b")


@dataclass(frozen=True)
class Inferred(Generic[T]):
    """A value and where it came from; ``sure`` is False for a guess worth checking."""

    value: T
    source: str
    sure: bool = True


@dataclass(frozen=True)
class InferredService:
    name: str
    path: str  # folder in the repository
    package: str
    kind: Inferred[str]  # "http" or "worker"
    port: Inferred[int] | None
    health: Inferred[str] | None
    entrypoint: Inferred[str]
    deps: tuple[Inferred[str], ...] = ()
    dockerfile: str | None = None  # repository-relative path, when one is committed
    notes: tuple[str, ...] = ()

    @property
    def is_http(self) -> bool:
        return self.kind.value == "http"


@dataclass(frozen=True)
class Library:
    name: str
    path: str
    dependents: int  # services that depend on it through workspace: specs


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


@dataclass(frozen=True)
class InferredManifest:
    root: Path
    globs: Inferred[tuple[str, ...]]
    scope: Inferred[str] | None
    shared: Inferred[str] | None
    services_dir: Inferred[str]
    node: Inferred[str]
    family: Inferred[str]
    pnpm: Inferred[str] | None
    services: tuple[InferredService, ...]
    libraries: tuple[Library, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    notes: tuple[str, ...] = ()

    def service(self, name: str) -> InferredService | None:
        return next((s for s in self.services if s.name == name), None)


def infer_manifest(root: Path) -> InferredManifest:
    """Infer the manifest of the monorepo at ``root`` (raises UserError when it is not one)."""
    return _Inference(root.resolve()).run()


# -- one package at a time -------------------------------------------------------------
@dataclass
class _Facts:
    """What one package's files say, before deciding what it is."""

    package: Package
    dockerfile: str | None = None
    parsed: ParsedDockerfile | None = None
    runtime_image: str | None = None
    image_line: int | None = None
    sources: list[tuple[str, str]] = field(default_factory=list)  # (relative path, text)
    imports: tuple[Import, ...] = ()
    notes: list[str] = field(default_factory=list)


class _Inference:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.workspace: Workspace = read_workspace(root)
        self.notes: list[str] = []

    def run(self) -> InferredManifest:
        ws = self.workspace
        facts = {name: self._facts(p) for name, p in sorted(ws.packages.items())}
        dependents = self._dependents()
        skipped = self._other_languages()
        services: dict[str, _Facts] = {}
        libraries: dict[str, _Facts] = {}
        for name, fact in sorted(facts.items(), key=lambda item: item[1].package.path):
            why = self._not_rendered(fact)
            if why is not None:
                skipped.append(Skipped(fact.package.path, why))
            elif self._is_service(fact, dependents.get(name, set())):
                services[name] = fact
            else:
                libraries[name] = fact
        services = self._buildable(services, skipped)
        services = self._unique_names(services, skipped)

        inferred = [self._service(fact, services) for fact in services.values()]
        by_name = {s.name: s for s in inferred}
        inferred = [self._with_source_deps(s, services, by_name) for s in inferred]
        inferred.sort(key=lambda s: s.path)

        service_packages = set(services)
        library_list = tuple(
            Library(
                name,
                fact.package.path,
                len(dependents.get(name, set()) & service_packages),
            )
            for name, fact in sorted(libraries.items(), key=lambda item: item[1].package.path)
        )
        shared = self._shared(library_list)
        node = self._node_image(list(services.values()))
        return InferredManifest(
            root=self.root,
            globs=self._globs(),
            scope=self._scope(shared),
            shared=shared,
            services_dir=self._services_dir(inferred),
            node=node,
            family=self._family(node.value),
            pnpm=self._pnpm(list(facts.values())),
            services=tuple(inferred),
            libraries=library_list,
            skipped=tuple(sorted(skipped, key=lambda s: s.path)),
            notes=tuple(self.notes),
        )

    # -- reading ------------------------------------------------------------------------
    def _facts(self, package: Package) -> _Facts:
        fact = _Facts(package)
        relative = f"{package.path}/Dockerfile"
        file = self.root / relative
        if file.is_file():
            fact.dockerfile = relative
            try:
                fact.parsed = parse_dockerfile(file)
            except UserError as exc:
                fact.notes.append(f"{relative} was not read ({exc.message})")
            else:
                base = fact.parsed.lineage(fact.parsed.runtime)[-1]
                fact.runtime_image = base.base
                fact.image_line = base.line
        nested = frozenset(
            p.path
            for p in self.workspace.packages.values()
            if p.path.startswith(package.path + "/")
        )
        sources = PackageSources(self.root, package.path, nested)
        fact.sources = [(sources.relative(path), text) for path, text in sources.files]
        fact.imports = sources.imports
        return fact

    def _dependents(self) -> dict[str, set[str]]:
        """Package name -> the workspace packages that depend on it with a workspace: spec."""
        found: dict[str, set[str]] = {}
        for package in self.workspace.packages.values():
            for dep, spec in package.dependencies(ALL_SECTIONS).items():
                if spec.startswith("workspace:") and dep in self.workspace.packages:
                    found.setdefault(dep, set()).add(package.name)
        return found

    def _other_languages(self) -> list[Skipped]:
        """Folders the workspace globs match that hold another language's service."""
        skipped = []
        known = {p.path for p in self.workspace.packages.values()}
        for pattern in self.workspace.patterns:
            if pattern.startswith("!") or pattern.strip() in ("", "."):
                continue
            for folder in sorted(self.root.glob(pattern.strip().rstrip("/"))):
                relative = folder.relative_to(self.root).as_posix()
                if not folder.is_dir() or relative in known or "node_modules" in relative:
                    continue
                marker = next((m for m in OTHER_LANGUAGES if (folder / m).is_file()), None)
                if marker is not None:
                    skipped.append(
                        Skipped(
                            relative, f"{OTHER_LANGUAGES[marker]} service ({marker}), not Node.js"
                        )
                    )
        return skipped

    # -- deciding what each package is ----------------------------------------------------
    def _not_rendered(self, fact: _Facts) -> str | None:
        deps = fact.package.dependencies(ALL_SECTIONS)
        if "next" in deps:
            return "Next.js app (next in package.json); dockerforge renders Node.js services"
        image = fact.runtime_image
        if image is not None and not is_node_image(image):
            where = f"{fact.dockerfile}:{fact.image_line}"
            if image_name(image) in STATIC_SERVERS:
                return f"static frontend served by {image_name(image)} ({where}: FROM {image})"
            return f"its image is not Node.js ({where}: FROM {image})"
        tools = [t for t in FRONTEND_TOOLS if t in deps]
        if tools and not any(f in deps for f in SERVER_FRAMEWORKS) and fact.parsed is None:
            return f"static frontend ({tools[0]} in package.json, no server framework)"
        return None

    def _is_service(self, fact: _Facts, dependents: set[str]) -> bool:
        package = fact.package
        if fact.dockerfile is not None:
            return True
        if dependents and not package.has_script("start"):
            return False  # a library other packages import
        return package.has_script("start") or _listening(fact.sources) is not None

    def _buildable(self, services: dict[str, _Facts], skipped: list[Skipped]) -> dict[str, _Facts]:
        """Services whose runtime packages all build (dockerforge ships build output)."""
        kept = {}
        for name, fact in services.items():
            missing = [
                p
                for p in self.workspace.closure(fact.package, RUNTIME_SECTIONS).values()
                if not p.has_script("build")
            ]
            if missing:
                names = ", ".join(p.name for p in missing)
                skipped.append(
                    Skipped(
                        fact.package.path,
                        f"no build script in {names}; dockerforge ships each runtime "
                        "package's build output",
                    )
                )
            else:
                kept[name] = fact
        return kept

    def _unique_names(
        self, services: dict[str, _Facts], skipped: list[Skipped]
    ) -> dict[str, _Facts]:
        kept: dict[str, _Facts] = {}
        taken: dict[str, str] = {}
        for name, fact in sorted(services.items(), key=lambda item: item[1].package.path):
            folder = posixpath.basename(fact.package.path)
            if not NAME_PART.fullmatch(folder):
                skipped.append(
                    Skipped(
                        fact.package.path, f"folder name {folder!r} is not a valid service name"
                    )
                )
            elif folder in taken:
                skipped.append(
                    Skipped(
                        fact.package.path,
                        f"another service is already named {folder!r} ({taken[folder]}); "
                        "add this one by hand under another name",
                    )
                )
            else:
                taken[folder] = fact.package.path
                kept[name] = fact
        return kept

    # -- one service ---------------------------------------------------------------------
    def _service(self, fact: _Facts, services: dict[str, _Facts]) -> InferredService:
        package = fact.package
        name = posixpath.basename(package.path)
        kind, port = self._kind_and_port(fact)
        health = self._health(fact) if kind.value == "http" else None
        deps = tuple(
            Inferred(
                posixpath.basename(services[dep].package.path),
                f"{package.path}/package.json ({dep}: {spec})",
            )
            for dep, spec in sorted(package.dependencies(RUNTIME_SECTIONS).items())
            if spec.startswith("workspace:") and dep in services and dep != package.name
        )
        return InferredService(
            name=name,
            path=package.path,
            package=package.name,
            kind=kind,
            port=port,
            health=health,
            entrypoint=self._entrypoint(fact),
            deps=deps,
            dockerfile=fact.dockerfile,
            notes=tuple(fact.notes),
        )

    def _kind_and_port(self, fact: _Facts) -> tuple[Inferred[str], Inferred[int] | None]:
        parsed = fact.parsed
        listened = _listening(fact.sources)
        if parsed is not None:
            found = _dockerfile_port(parsed, fact.dockerfile or "")
            if found is not None:
                port, where = found
                if port is not None:
                    return Inferred("http", where), Inferred(port, where)
                if listened is not None and listened.port is not None:
                    return Inferred("http", where), Inferred(
                        listened.port, listened.where, listened.sure
                    )
                return Inferred("http", where), Inferred(
                    FALLBACK_PORT, f"{where}, but no port found anywhere", sure=False
                )
        if listened is not None:
            where = listened.where
            if parsed is not None:
                where += f" ({fact.dockerfile} has no EXPOSE or HEALTHCHECK)"
            if listened.port is None:
                return Inferred("http", where, sure=False), Inferred(
                    FALLBACK_PORT, f"{where}, no literal port found", sure=False
                )
            sure = listened.sure and parsed is None
            return Inferred("http", where, sure), Inferred(listened.port, where, sure)
        if parsed is not None:
            return Inferred("worker", f"{fact.dockerfile} has no EXPOSE or HEALTHCHECK"), None
        return Inferred("worker", "no Dockerfile and nothing in its source listens", False), None

    def _health(self, fact: _Facts) -> Inferred[str]:
        if fact.parsed is not None:
            check = _safe_healthcheck(fact.parsed)
            if check is not None and not check.disabled:
                match = re.search(r"path:\s*['\"](/[^'\"]*)['\"]", check.text) or re.search(
                    r"https?://[^/\s'\"]+(/[^\s'\"]*)", check.text
                )
                if match and HEALTH_PATH.fullmatch(match.group(1)):
                    line = check.instruction.line
                    return Inferred(match.group(1), f"{fact.dockerfile}:{line}: HEALTHCHECK")
        for relative, text in fact.sources:
            match = _HEALTH_ROUTE.search(text)
            if match and HEALTH_PATH.fullmatch(match.group(1)):
                where = f"{relative}:{line_of(text, match.start())}"
                return Inferred(match.group(1), f"route in {where}", sure=True)
        return Inferred(DEFAULT_HEALTH, "default; no health route found", sure=False)

    def _entrypoint(self, fact: _Facts) -> Inferred[str]:
        package = fact.package
        if fact.parsed is not None:
            cmd = fact.parsed.last_in_image(fact.parsed.runtime, "CMD")
            words = cmd.exec_form() if cmd is not None else None
            if cmd is not None and words and len(words) == 2 and words[0] == "node":
                script = _relative_script(words[1], fact.parsed.workdir_at(cmd), package.path)
                if script is not None:
                    return Inferred(script, f"{fact.dockerfile}:{cmd.line}: CMD")
        scripts = package.data.get("scripts")
        start = scripts.get("start") if isinstance(scripts, dict) else None
        if isinstance(start, str):
            words = start.split()
            if len(words) >= 2 and words[0] == "node":
                script = _clean_script(words[-1])
                if script is not None:
                    flags = words[1:-1]
                    where = f"{package.path}/package.json: start script"
                    if flags:
                        return Inferred(script, f"{where} (drops {' '.join(flags)})", sure=False)
                    return Inferred(script, where)
        main = package.data.get("main")
        if isinstance(main, str):
            script = _clean_script(main)
            if script is not None:
                return Inferred(script, f"{package.path}/package.json: main")
        return Inferred(DEFAULT_ENTRYPOINT, "default; no start script or main", sure=False)

    def _with_source_deps(
        self,
        service: InferredService,
        services: dict[str, _Facts],
        by_name: dict[str, InferredService],
    ) -> InferredService:
        """Add the sibling services this one reaches into by relative path."""
        fact = services[service.package]
        folders = {f.package.path: posixpath.basename(f.package.path) for f in services.values()}
        libraries = {
            p.path: p.name for p in self.workspace.packages.values() if p.path not in folders
        }
        have = {d.value for d in service.deps}
        deps = list(service.deps)
        notes = list(service.notes)
        for found in fact.imports:
            where = f"{found.file.relative_to(self.root).as_posix()}:{found.line}"
            owner = _owner(found.target, folders)
            if owner is not None and folders[owner] not in have and folders[owner] in by_name:
                have.add(folders[owner])
                deps.append(Inferred(folders[owner], f"{where} (imports {found.specifier})"))
            library = _owner(found.target, libraries)
            if library is not None:
                notes.append(
                    f"{where} imports {libraries[library]} by relative path; "
                    "declare it in package.json"
                )
        return InferredService(
            name=service.name,
            path=service.path,
            package=service.package,
            kind=service.kind,
            port=service.port,
            health=service.health,
            entrypoint=service.entrypoint,
            deps=tuple(deps),
            dockerfile=service.dockerfile,
            notes=tuple(notes),
        )

    # -- repository-wide values ----------------------------------------------------------
    def _globs(self) -> Inferred[tuple[str, ...]]:
        ws = self.workspace
        source = "pnpm-workspace.yaml" if ws.workspace_file is not None else "package.json"
        if ws.workspace_file is None:
            source += " workspaces"
        return Inferred(ws.patterns, source)

    def _shared(self, libraries: tuple[Library, ...]) -> Inferred[str] | None:
        used = [lib for lib in libraries if lib.dependents]
        if not used:
            return None
        best = max(
            used,
            key=lambda lib: (lib.dependents, lib.path == "shared", -lib.path.count("/"), lib.path),
        )
        runner_up = [lib for lib in used if lib is not best and lib.dependents == best.dependents]
        text = f"{best.name}, a workspace dependency of {best.dependents} service"
        text += "s" if best.dependents != 1 else ""
        if runner_up:
            text += f"; {runner_up[0].path} is used as much"
        return Inferred(best.path, text, sure=not runner_up)

    def _scope(self, shared: Inferred[str] | None) -> Inferred[str] | None:
        if shared is not None:
            package = self.workspace.by_path(shared.value)
            if package is not None and package.name.startswith("@"):
                scope = package.name.split("/", 1)[0]
                if SCOPE.fullmatch(scope):
                    return Inferred(scope, f"the name of {shared.value}/package.json")
        scopes = Counter(
            p.name.split("/", 1)[0] for p in self.workspace.packages.values() if "/" in p.name
        )
        if not scopes:
            return None
        (scope, count), *others = scopes.most_common()
        total = sum(scopes.values())
        return Inferred(
            scope,
            f"{count} of {total} scoped package names",
            sure=not others and SCOPE.fullmatch(scope) is not None,
        )

    def _services_dir(self, services: list[InferredService]) -> Inferred[str]:
        parents = Counter(posixpath.dirname(s.path) for s in services if "/" in s.path)
        if not parents:
            return Inferred("services", "default; no service lies in a folder", sure=False)
        ranked = sorted(
            parents.items(), key=lambda item: (-item[1], item[0] != "services", item[0])
        )
        folder, count = ranked[0]
        return Inferred(folder, f"{count} of {len(services)} services")

    def _node_image(self, services: list[_Facts]) -> Inferred[str]:
        images = Counter(
            f.runtime_image for f in services if f.runtime_image and is_node_image(f.runtime_image)
        )
        if images:
            (image, count), *others = images.most_common()
            first = next(f for f in services if f.runtime_image == image)
            where = f"FROM in {count} Dockerfile{'s' if count != 1 else ''}"
            where += f", e.g. {first.dockerfile}:{first.image_line}"
            if others:
                where += f"; also {', '.join(i for i, _ in others)}"
            return Inferred(image, where, sure=not others)
        major = self.workspace.node_major
        if major is not None:
            return Inferred(f"node:{major}-alpine", "package.json engines.node")
        return Inferred(
            f"node:{FALLBACK_NODE_MAJOR}-alpine",
            "no Dockerfile FROM and no engines.node; a current LTS",
            sure=False,
        )

    def _family(self, image: str) -> Inferred[str]:
        family = family_of(image)
        if family is not None:
            return Inferred(family, f"the image tag {image}")
        return Inferred("debian", f"the tag of {image} names no distribution", sure=False)

    def _pnpm(self, facts: list[_Facts]) -> Inferred[str] | None:
        version = self.workspace.package_manager_version
        if version is not None:
            return Inferred(version, "package.json packageManager")
        for fact in facts:
            if fact.parsed is None:
                continue
            for instruction in fact.parsed.instructions():
                match = _PNPM_PIN.search(instruction.value)
                if match and SEMVER.fullmatch(match.group(1)):
                    where = f"{fact.dockerfile}:{instruction.line}"
                    return Inferred(match.group(1), where, sure=False)
        return None


# -- small pure helpers ----------------------------------------------------------------
def _dockerfile_port(parsed: ParsedDockerfile, name: str) -> tuple[int | None, str] | None:
    """(port, where) when the Dockerfile serves HTTP (EXPOSE, ENV PORT, HEALTHCHECK)."""
    for stage in parsed.ancestry(parsed.runtime):
        for instruction in stage.all("EXPOSE"):
            for word in instruction.value.split():
                number = word.split("/", 1)[0]
                if number.isdigit() and 0 < int(number) < 65536:
                    return int(number), f"{name}:{instruction.line}: EXPOSE {number}"
    for stage in parsed.ancestry(parsed.runtime):
        for instruction in stage.all("ENV"):
            match = re.search(r"\bPORT[= ]\s*(\d{2,5})\b", instruction.value)
            if match and 0 < int(match.group(1)) < 65536:
                return int(match.group(1)), f"{name}:{instruction.line}: ENV PORT"
    check = _safe_healthcheck(parsed)
    if check is not None and not check.disabled:
        where = f"{name}:{check.instruction.line}: HEALTHCHECK"
        match = re.search(r"(?:localhost|127\.0\.0\.1|0\.0\.0\.0):(\d{2,5})\b", check.text)
        return (int(match.group(1)) if match else None), where
    return None


def _safe_healthcheck(parsed: ParsedDockerfile) -> HealthCheck | None:
    try:
        return parsed.healthcheck(parsed.runtime)
    except UserError:
        return None


@dataclass(frozen=True)
class _Listen:
    port: int | None
    where: str
    sure: bool  # ``.listen(<literal>)`` is; a port-looking argument of a helper is a guess


def _listening(sources: Iterable[tuple[str, str]]) -> _Listen | None:
    """Where the sources start a server, and on which port when a literal says so."""
    files = [(relative, text) for relative, text in sources if _LISTENS.search(text)]
    tiers = ((True, (_LISTEN_LITERAL, _LISTEN_FALLBACK)), (False, (_SERVE_CALL, _PORT_DEFAULT)))
    for sure, patterns in tiers:
        for relative, text in files:
            for pattern in patterns:
                for match in pattern.finditer(text):
                    port = int(match.group(1))
                    if 0 < port < 65536:
                        return _Listen(port, f"{relative}:{line_of(text, match.start())}", sure)
    for relative, text in files:
        if ".listen(" in text:
            return _Listen(None, f"{relative}:{line_of(text, text.index('.listen('))}", False)
    return None


def _clean_script(path: str) -> str | None:
    script = posixpath.normpath(path.removeprefix("./"))
    if script.startswith("..") or "/" not in script or not ENTRYPOINT.fullmatch(script):
        return None
    return script


def _relative_script(script: str, workdir: str, package_path: str) -> str | None:
    if script.startswith("/"):
        absolute = posixpath.normpath(script)
    else:
        absolute = posixpath.normpath(posixpath.join(workdir, script))
    for prefix in (f"/app/{package_path}/", f"{workdir.rstrip('/')}/"):
        if absolute.startswith(prefix):
            return _clean_script(absolute[len(prefix) :])
    return None


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder + "/")


def _owner(path: str, folders: dict[str, str]) -> str | None:
    """The folder among ``folders`` that holds ``path`` (the deepest one)."""
    matches = [f for f in folders if _inside(path, f)]
    return max(matches, key=len) if matches else None
