"""Where files come from and where the runtime finds them: DF116-DF118."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator

from dockerforge.dockerfile import normalize_source
from dockerforge.model import APP_ROOT, Service
from dockerforge.rules.base import ERROR, Finding, Fix, Rule, ServiceTarget
from dockerforge.rules.facts import (
    context_copied,
    leaves_context,
    provides,
)
from dockerforge.workspace import ALL_SECTIONS, RUNTIME_SECTIONS, Package

_DOTENV = re.compile(r"(^|/)(\.env(\..+)?|.+\.env)$")
_DOTENV_TEMPLATE = re.compile(r"\.(example|sample|template|dist)$")  # no values, only names
_HOST_PATH = re.compile(r"(?:^|[\s=:\"'])(/Users/[^/\s]+|/home/[^/\s]+|[A-Za-z]:\\)")


class HostPaths(Rule):
    code = "DF116"
    title = "The image relies on files from the build machine"
    severity = ERROR
    why = (
        "A Dockerfile may only read its build context. An absolute or `../` source fails the "
        "build on CI, a copied `.env` bakes one developer's settings (often secrets) into "
        "every image, and a home-directory path in ENV points at nothing inside ECS. In ECS, "
        "configuration comes from the task definition."
    )
    bad = "COPY ../config/.env ./\nENV CONFIG_DIR=/Users/dev/project/config"
    good = "# no .env in the image: the task definition sets the variables\nCOPY shared/ shared/"
    fix = Fix(True, "review", "the canonical rendering copies only workspace package folders")

    def check(self, target: ServiceTarget) -> Iterator[Finding]:
        if target.dockerfile is None:
            return
        for instruction in target.dockerfile.instructions():
            if instruction.keyword in ("COPY", "ADD") and instruction.flag("from") is None:
                parts = instruction.copy_parts()
                for source in parts[0] if parts else ():
                    if "://" in source:
                        continue  # ADD <url>: not a host path
                    if leaves_context(source):
                        yield self.at(
                            target,
                            instruction,
                            f"`{source}` is outside the build context: the build fails on any "
                            "other machine",
                        )
                    elif _DOTENV.search(normalize_source(source)) and not _DOTENV_TEMPLATE.search(
                        source
                    ):
                        yield self.at(
                            target,
                            instruction,
                            f"copies `{source}` into the image: settings (and secrets) of one "
                            "machine; in ECS set them in the task definition",
                        )
            elif instruction.keyword in ("ENV", "ARG", "WORKDIR", "VOLUME"):
                match = _HOST_PATH.search(instruction.value)
                if match:
                    yield self.at(
                        target,
                        instruction,
                        f"`{match.group(1)}` is a path on a developer's machine; it does not "
                        "exist in the container",
                    )


class WorkspaceNotRewritten(Rule):
    code = "DF117"
    title = "`workspace:` dependency not rewritten for the runtime layout"
    severity = ERROR
    why = (
        "`workspace:*` means something only to the workspace's own package manager. npm fails "
        "with EUNSUPPORTEDPROTOCOL on it, so any step that installs a copied package.json "
        "with npm needs the spec rewritten first (the canonical image rewrites it to "
        "`file:<relative path>`, which matches the /app/<folder> layout)."
    )
    bad = (
        "COPY shared ./shared\nCOPY services/api ./services/api\n"
        'RUN npm install   # services/api: "@acme/shared": "workspace:*"'
    )
    good = (
        "RUN pnpm install --frozen-lockfile --prod --offline \\\n && sed -i "
        '\'s#"@acme/shared": *"workspace:[^"]*"#"@acme/shared": "file:../../shared"#\' '
        "services/api/package.json"
    )
    fix = Fix(True, "review", "the canonical prod-deps stage installs with pnpm and rewrites specs")

    def check(self, target: ServiceTarget) -> Iterator[Finding]:
        dockerfile = target.dockerfile
        if dockerfile is None:
            return
        root = target.repo.root
        packages = target.repo.workspace.packages.values()
        for install in dockerfile.installs():
            if install.tool != "npm" or install.global_install:
                continue  # pnpm and yarn 2+ resolve workspace: themselves
            stage = dockerfile.stages[install.instruction.stage]
            rewritten = any(
                "workspace:" in run.value
                for current in dockerfile.ancestry(stage)
                for run in current.all("RUN")
                if run.stage != install.instruction.stage or run.line < install.instruction.line
            )
            if rewritten:
                continue
            sections = RUNTIME_SECTIONS if install.production else ALL_SECTIONS
            for package in packages:
                spec = _workspace_spec(package, sections)
                if spec is None:
                    continue
                manifest = f"{package.path}/package.json"
                if context_copied(dockerfile, stage, manifest, root, until=install.instruction):
                    dependency, version = spec
                    yield self.at(
                        target,
                        install.instruction,
                        f"`{install.command}` installs {manifest}, whose "
                        f'"{dependency}": "{version}" {install.tool} cannot resolve',
                    )
                    break


class RuntimeImportMissing(Rule):
    code = "DF118"
    title = "Code imported at runtime from another workspace package is not in the image"
    severity = ERROR
    why = (
        "A relative import such as `../../admin-service/dist/...` reaches another package's "
        "build output without any package.json saying so. The image builds, and the task "
        "crashes with `Cannot find module` on first use unless that package is built and "
        "copied into the runtime image (in dockerforge.yaml: `deps: [admin-service]`)."
    )
    bad = (
        "# services/allocation-worker/src/index.ts\n"
        "await import('../../admin-service/dist/services/allocation.service')\n"
        "# dockerforge.yaml: allocation-worker: { kind: worker }"
    )
    good = "# dockerforge.yaml\nallocation-worker:\n  kind: worker\n  deps: [admin-service]"
    fix = Fix(
        True,
        "review",
        "with `deps:` in the manifest, the rendering builds and ships the package; without it "
        "add `deps:` first (by hand)",
    )

    def check(self, target: ServiceTarget) -> Iterator[Finding]:
        service = target.service
        repo = target.repo
        shipped = {project.path for project in service.runtime_projects} or {service.path}
        by_path = sorted(repo.workspace.packages.values(), key=lambda p: -len(p.path))
        for folder in sorted(shipped):
            for found in repo.sources(folder).imports:
                owner = _owner(by_path, found.target)
                if owner is None or owner.path == folder:
                    continue
                where = repo.relative(found.file)
                if owner.path not in shipped:
                    other = next((s.name for s in _services(target) if s.path == owner.path), None)
                    declare = (
                        f"`deps: [{other}]` in dockerforge.yaml"
                        if other
                        else f'a dependency on "{owner.name}" in {folder}/package.json'
                    )
                    yield self.finding(
                        where,
                        found.line,
                        f"imports `{found.specifier}` from {owner.path} at runtime, but the "
                        f"{service.name} image does not include {owner.path}: declare {declare}",
                        service.name,
                    )
                    continue
                if target.dockerfile is None:
                    continue
                in_image = _image_path(target, found.target)
                if not provides(target.dockerfile, target.runtime, in_image, repo.root, built=True):
                    yield self.finding(
                        where,
                        found.line,
                        f"imports `{found.specifier}`, which the runtime image resolves to "
                        f"{in_image}, but {target.dockerfile_path} copies nothing there",
                        service.name,
                    )


def _workspace_spec(package: Package, sections: tuple[str, ...]) -> tuple[str, str] | None:
    for dependency, version in package.dependencies(sections).items():
        if version.startswith("workspace:"):
            return dependency, version
    return None


def _owner(packages: list[Package], path: str) -> Package | None:
    """The workspace package whose folder holds ``path`` (the deepest one)."""
    return next((p for p in packages if path == p.path or path.startswith(p.path + "/")), None)


def _services(target: ServiceTarget) -> list[Service]:
    manifest = target.repo.manifest
    if manifest is not None:
        return list(manifest.services)
    return [t.service for t in target.repo.services]


def _image_path(target: ServiceTarget, repository_path: str) -> str:
    """Where a repository path sits in the runtime image, seen from the service's folder.

    The service's own folder is the runtime WORKDIR (where CMD runs); other packages sit at
    the same relative place, as in the repository.
    """
    assert target.dockerfile is not None
    command = target.dockerfile.last_in_image(target.runtime, "CMD")
    workdir = (
        target.dockerfile.workdir_at(command)
        if command is not None
        else f"{APP_ROOT}/{target.service.path}"
    )
    relative = posixpath.relpath(repository_path, target.service.path)
    return posixpath.normpath(posixpath.join(workdir, relative))


RULES: tuple[Rule, ...] = (HostPaths(), WorkspaceNotRewritten(), RuntimeImportMissing())
