"""Load ``dockerforge.yaml`` into the validated :class:`~dockerforge.model.Manifest`.

Every mistake is reported as ``dockerforge.yaml:LINE:COL: message`` (or at the package.json
line that causes it). Defaults come from pnpm-workspace.yaml and the package.json files, so
most repositories state little more than their services.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from dockerforge.errors import Location, UserError
from dockerforge.model import ImageDefaults, Manifest, Project, Rewrite, Service
from dockerforge.schema import (
    IMAGE,
    NAME_PART,
    ROOT,
    SERVICE,
    WORKSPACE,
    Section,
    check_scalar,
    unknown_key_message,
)
from dockerforge.workspace import (
    ALL_SECTIONS,
    RUNTIME_SECTIONS,
    Package,
    Workspace,
    read_workspace,
)
from dockerforge.yamlfile import item_location, key_location, load_yaml, value_location

MANIFEST_NAME = "dockerforge.yaml"
DEFAULT_HEALTH = "/health"
DEFAULT_ENTRYPOINT = "dist/index.js"
# A catalog spec lands inside a quoted sed expression in the Dockerfile: keep it plain.
SAFE_SPEC = re.compile(r"[A-Za-z0-9.^~<>=|*@:/+ _-]+")


def find_repo(start: Path) -> Path:
    """The nearest folder at or above ``start`` that holds a ``dockerforge.yaml``."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / MANIFEST_NAME).is_file():
            return folder
    raise UserError(
        f"no {MANIFEST_NAME} in {start} or any parent folder "
        "(pass --repo, or create one with `dockerforge init`)"
    )


def load_manifest(
    root: Path, *, text: str | None = None, workspace: Workspace | None = None
) -> Manifest:
    """Read, validate and resolve the manifest of the repository at ``root``.

    ``text`` stands in for dockerforge.yaml and ``workspace`` for the package.json files, so
    a command can prove that what it is about to write loads, before writing anything.
    """
    root = root.resolve()
    file = root / MANIFEST_NAME
    doc = load_yaml(file, text)
    return _Loader(file, root).load(doc, workspace or read_workspace(root))


@dataclass
class _Value:
    value: Any
    location: Location
    items: tuple[Location, ...] = ()  # where each item of a list is written


class _Loader:
    def __init__(self, file: Path, root: Path) -> None:
        self.file = file
        self.root = root

    # -- generic validation ------------------------------------------------------------
    def section(self, mapping: Any, section: Section, where: str) -> dict[str, _Value]:
        """Check a mapping's keys and scalar values against a schema section."""
        if not isinstance(mapping, dict):
            raise UserError(f"{where}: expected a mapping", self._here(mapping))
        values: dict[str, _Value] = {}
        for key, raw in mapping.items():
            spec = section.get(key) if isinstance(key, str) else None
            if spec is None:
                message = (
                    f"{where}: {unknown_key_message(section, key)}"
                    if where
                    else (unknown_key_message(section, key))
                )
                raise UserError(message, key_location(self.file, mapping, key))
            path = f"{where}.{key}" if where else str(key)
            location = value_location(self.file, mapping, key)
            if spec.type == "mapping":
                values[key] = _Value(raw, location)
            elif spec.type == "list[str]":
                items = tuple(item_location(self.file, raw, i) for i in range(len(raw or ())))
                values[key] = _Value(self._list(spec, raw, path, location), location, items)
            else:
                values[key] = _Value(check_scalar(spec, raw, path, location), location)
        return values

    def _list(self, spec: Any, raw: Any, where: str, location: Location) -> tuple[Any, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list):
            raise UserError(f"{where}: expected a list", location)
        return tuple(
            check_scalar(spec, item, f"{where}[{index}]", item_location(self.file, raw, index))
            for index, item in enumerate(raw)
        )

    def _here(self, node: Any) -> Location:
        lc = getattr(node, "lc", None)
        if lc is not None and lc.line is not None:
            return Location(self.file, lc.line + 1, lc.col + 1)
        return Location(self.file, 1)

    # -- the manifest ------------------------------------------------------------------
    def load(self, doc: Any, workspace: Workspace) -> Manifest:
        if doc is None:
            raise UserError(
                "the manifest is empty; it needs at least `services:`", Location(self.file, 1)
            )
        top = self.section(doc, ROOT, "")
        if "services" not in top:
            raise UserError("missing required key 'services'", Location(self.file, 1))

        ws = (
            self.section(top["workspace"].value, WORKSPACE, "workspace")
            if ("workspace" in top and top["workspace"].value is not None)
            else {}
        )
        image = (
            self.section(top["image"].value, IMAGE, "image")
            if ("image" in top and top["image"].value is not None)
            else {}
        )

        shared = self._shared_folder(ws, workspace)
        scope = self._scope(ws, workspace, shared)
        services_dir = ws["services"].value if "services" in ws else _services_dir(workspace)
        build_files = self._build_files(ws)
        defaults = self._image(image, workspace)
        templates = self._templates(top.get("templates"))

        services = self._services(top["services"], workspace, services_dir)
        return Manifest(
            file=self.file,
            root=self.root,
            scope=scope,
            shared=shared,
            services_dir=services_dir,
            build_files=build_files,
            image=defaults,
            templates=templates,
            services=services,
            workspace=workspace,
        )

    def _shared_folder(self, ws: dict[str, _Value], workspace: Workspace) -> str | None:
        if "shared" in ws:
            folder = ws["shared"].value
            if workspace.by_path(folder) is None:
                raise UserError(
                    f"workspace.shared: {folder!r} is not a workspace package folder "
                    "(no package.json there, or not matched by the workspace globs)",
                    ws["shared"].location,
                )
            return folder
        return "shared" if workspace.by_path("shared") is not None else None

    def _scope(self, ws: dict[str, _Value], workspace: Workspace, shared: str | None) -> str | None:
        if "scope" in ws:
            return ws["scope"].value
        if shared is not None:
            package = workspace.by_path(shared)
            if package is not None and package.name.startswith("@"):
                return package.name.split("/", 1)[0]
        scopes = sorted(
            {p.name.split("/", 1)[0] for p in workspace.packages.values() if "/" in p.name}
        )
        if len(scopes) <= 1:
            return scopes[0] if scopes else None  # None: the packages are not scoped
        raise UserError(
            f"the workspace uses several scopes ({', '.join(scopes)}); set workspace.scope",
            Location(self.file, 1),
        )

    def _build_files(self, ws: dict[str, _Value]) -> tuple[str, ...]:
        if "build_files" not in ws:
            return tuple(sorted(p.name for p in self.root.glob("tsconfig*.json") if p.is_file()))
        files = ws["build_files"].value
        for name in files:
            if not (self.root / name).is_file():
                raise UserError(
                    f"workspace.build_files: {name!r} does not exist", ws["build_files"].location
                )
        return files

    def _image(self, image: dict[str, _Value], workspace: Workspace) -> ImageDefaults:
        if "node" in image:
            node = image["node"].value
        else:
            major = workspace.node_major
            if major is None:
                raise UserError(
                    "image.node is not set and the root package.json has no engines.node "
                    "to choose a Node.js image from",
                    Location(self.file, 1),
                )
            node = f"node:{major}-alpine"
        inferred = family_of(node)
        if "family" in image:
            family = image["family"].value
            if inferred is not None and inferred != family:
                raise UserError(
                    f"image.family: {family!r} does not match the image {node!r} "
                    f"(which is {inferred})",
                    image["family"].location,
                )
        else:
            family = inferred or "debian"
        if "pnpm" in image:
            pnpm = image["pnpm"].value
        else:
            pnpm = workspace.package_manager_version
            if pnpm is None:
                raise UserError(
                    "image.pnpm is not set and the root package.json has no "
                    '"packageManager": "pnpm@<version>" field',
                    Location(self.file, 1),
                )
        return ImageDefaults(node=node, family=family, pnpm=pnpm)

    def _templates(self, value: _Value | None) -> Path | None:
        if value is None:
            return None
        folder = (self.root / value.value).resolve()
        if not folder.is_relative_to(self.root):
            raise UserError("templates: must stay inside the repository", value.location)
        if not folder.is_dir():
            raise UserError(f"templates: folder {value.value!r} does not exist", value.location)
        return folder

    # -- services ----------------------------------------------------------------------
    def _services(
        self, services: _Value, workspace: Workspace, services_dir: str
    ) -> tuple[Service, ...]:
        mapping = services.value
        if not isinstance(mapping, dict) or not mapping:
            raise UserError("services: expected a mapping of service names", services.location)
        declared: dict[str, tuple[dict[str, _Value], Location]] = {}
        for name, body in mapping.items():
            location = key_location(self.file, mapping, name)
            if not isinstance(name, str) or not NAME_PART.fullmatch(name):
                raise UserError(
                    f"services: {name!r} is not a valid service name (lowercase letters, "
                    "digits, '.', '_' and '-', as in an npm package name)",
                    location,
                )
            values = self.section(body, SERVICE, f"services.{name}") if body is not None else {}
            declared[name] = (values, location)

        specs = {
            name: self._service_spec(name, v, loc, services_dir)
            for name, (v, loc) in declared.items()
        }
        for spec in specs.values():
            for dep, location in spec.deps:
                if dep == spec.name:
                    raise UserError(
                        f"services.{spec.name}.deps: a service cannot depend on itself", location
                    )
                if dep not in specs:
                    raise UserError(
                        f"services.{spec.name}.deps: unknown service {dep!r}"
                        + _suggest(dep, specs, workspace, services_dir),
                        location,
                    )
        for spec in specs.values():
            spec.package = self._package_of(spec, workspace)
        return tuple(_Resolver(workspace, specs).service(spec) for spec in specs.values())

    def _service_spec(
        self, name: str, values: dict[str, _Value], location: Location, services_dir: str
    ) -> _ServiceSpec:
        def get(key: str, default: Any = None) -> Any:
            return values[key].value if key in values else default

        port = get("port")
        kind = get("kind", "http" if port is not None else "worker")
        where = f"services.{name}"
        if kind == "http" and port is None:
            raise UserError(f"{where}: an http service needs a port", location)
        if kind == "worker":
            for key in ("port", "health"):
                if key in values:
                    raise UserError(
                        f"{where}.{key}: a worker has no {key} (set kind: http if it serves HTTP)",
                        values[key].location,
                    )
        entrypoint = get("entrypoint", DEFAULT_ENTRYPOINT)
        if "/" not in entrypoint:
            raise UserError(
                f"{where}.entrypoint: must lie in the build output folder, e.g. dist/index.js",
                values["entrypoint"].location,
            )
        deps = []
        if "deps" in values:
            deps = list(zip(values["deps"].value, values["deps"].items, strict=True))
        return _ServiceSpec(
            name=name,
            kind=kind,
            port=port,
            health=get("health", DEFAULT_HEALTH) if kind == "http" else None,
            entrypoint=entrypoint,
            env=tuple(get("env", ())),
            deps=deps,
            path=get("path", f"{services_dir}/{name}"),
            location=location,
        )

    def _package_of(self, spec: _ServiceSpec, workspace: Workspace) -> Package:
        package = workspace.by_path(spec.path)
        if package is None:
            if not workspace.covers(spec.path):
                why = "its folder is not matched by the workspace globs"
            else:
                why = "there is no package.json there"
            raise UserError(
                f"services.{spec.name}: {spec.path} is not a workspace package ({why})",
                spec.location,
            )
        return package


def _suggest(name: str, known: dict[str, Any], workspace: Workspace, services_dir: str) -> str:
    if workspace.by_path(f"{services_dir}/{name}") is not None:
        return f" (there is a package at {services_dir}/{name}: declare it under services:)"
    close = get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _services_dir(workspace: Workspace) -> str:
    """The folder of services a workspace glob names: `services`, else `apps`, else the first."""
    folders = [p[:-2] for p in workspace.patterns if p.endswith("/*") and "*" not in p[:-2]]
    for preferred in ("services", "apps"):
        if preferred in folders:
            return preferred
    return folders[0] if folders else "services"


def _find_cycle(pending: dict[str, set[str]]) -> list[str]:
    """A cycle among packages none of which is ready, first one closing it last."""
    path = [min(pending)]
    while True:
        following = min(pending[path[-1]])
        if following in path:
            cycle = path[path.index(following) :]
            return [*cycle, cycle[0]]
        path.append(following)


def family_of(image: str) -> str | None:
    """The distro family an official-looking Node image tag names, if it says."""
    tag = image.split("@", 1)[0].rsplit("/", 1)[-1]
    tag = tag.split(":", 1)[1] if ":" in tag else ""
    if "alpine" in tag:
        return "alpine"
    if any(word in tag for word in ("bookworm", "bullseye", "buster", "trixie", "slim")):
        return "debian"
    return None


@dataclass
class _ServiceSpec:
    name: str
    kind: str
    port: int | None
    health: str | None
    entrypoint: str
    env: tuple[str, ...]
    deps: list[tuple[str, Location]]
    path: str
    location: Location
    package: Package | None = None


class _Resolver:
    """Works out which workspace packages each image holds, in build order."""

    def __init__(self, workspace: Workspace, specs: dict[str, _ServiceSpec]) -> None:
        self.workspace = workspace
        self.specs = specs
        self.by_package = {s.package.name: s for s in specs.values() if s.package is not None}

    def service(self, spec: _ServiceSpec) -> Service:
        assert spec.package is not None
        build = self.workspace.closure(spec.package, ALL_SECTIONS, self._extra_deps)
        runtime = self.workspace.closure(spec.package, RUNTIME_SECTIONS, self._extra_deps)
        order = self._build_order(build)
        projects = tuple(self._project(build[name], name in runtime) for name in order)
        return Service(
            name=spec.name,
            kind=spec.kind,
            path=spec.path,
            package=spec.package.name,
            port=spec.port,
            health=spec.health,
            entrypoint=spec.entrypoint,
            env=spec.env,
            deps=tuple(dep for dep, _ in spec.deps),
            projects=projects,
            line=spec.location.line,
        )

    def _extra_deps(self, package: Package) -> list[Package]:
        spec = self.by_package.get(package.name)
        if spec is None:
            return []
        return [self.specs[dep].package for dep, _ in spec.deps if self.specs[dep].package]

    def _edges(self, package: Package) -> set[str]:
        return {p.name for p in self.workspace.workspace_deps(package, ALL_SECTIONS)} | {
            p.name for p in self._extra_deps(package)
        }

    def _build_order(self, packages: dict[str, Package]) -> list[str]:
        """Dependencies before dependents; ties broken by folder, so output is stable."""
        pending = {name: self._edges(p) & packages.keys() for name, p in packages.items()}
        order: list[str] = []
        while pending:
            ready = sorted(
                (n for n, deps in pending.items() if not deps), key=lambda n: packages[n].path
            )
            if not ready:
                cycle = _find_cycle(pending)
                text = " -> ".join(packages[n].path for n in cycle)
                first = packages[cycle[0]]
                raise UserError(f"dependency cycle: {text}", first.location("dependencies"))
            name = ready[0]
            order.append(name)
            del pending[name]
            for deps in pending.values():
                deps.discard(name)
        return order

    def _project(self, package: Package, runtime: bool) -> Project:
        if runtime and not package.has_script("build"):
            raise UserError(
                f'{package.name} is needed at runtime but has no "build" script; '
                "dockerforge ships each runtime package's build output (see README, layout rule)",
                package.location("scripts") if "scripts" in package.data else package.location(),
            )
        return Project(
            name=package.name,
            path=package.path,
            build=package.has_script("build"),
            runtime=runtime,
            output=self._output(package),
            rewrites=self._rewrites(package) if runtime else (),
        )

    def _output(self, package: Package) -> str:
        spec = self.by_package.get(package.name)
        main = spec.entrypoint if spec is not None else package.data.get("main")
        if isinstance(main, str):
            first = main.removeprefix("./").split("/", 1)
            if len(first) == 2 and NAME_PART.fullmatch(first[0]):
                return first[0]
        return "dist"

    def _rewrites(self, package: Package) -> tuple[Rewrite, ...]:
        rewrites: dict[str, Rewrite] = {}
        for dep, version in package.dependencies(RUNTIME_SECTIONS).items():
            if version.startswith("workspace:"):
                target = self.workspace.packages[dep]
                spec = "file:" + posixpath.relpath(target.path, package.path)
            elif version.startswith("catalog:"):
                spec = self.workspace.resolve_catalog(package, dep, version)
                if not SAFE_SPEC.fullmatch(spec):
                    raise UserError(
                        f"catalog entry for {dep!r} is {spec!r}, which dockerforge cannot "
                        "write into a Dockerfile safely",
                        self.workspace.workspace_file and Location(self.workspace.workspace_file),
                    )
            else:
                continue
            rewrites.setdefault(dep, Rewrite(dependency=dep, original=version, spec=spec))
        return tuple(sorted(rewrites.values(), key=lambda r: r.dependency))
