"""Renderings: equal to golden/, and every canonical property asserted on the parsed file."""

from __future__ import annotations

import dataclasses
import json
import posixpath
from pathlib import Path

import pytest

from dockerforge.dockerfile import ParsedDockerfile, Stage, parse_dockerfile
from dockerforge.manifest import load_manifest
from dockerforge.model import Manifest, Service
from dockerforge.render import environment, render_dockerfile, render_dockerignore, render_files
from tests.conftest import AUDITED_DRIFT, EXAMPLE, GOLDEN, MULTILIB, run_cli

STAGES = ["base", "deps", "builder", "prod-deps", "runtime"]
TOOLCHAIN = {"python3", "make", "g++"}


def debian(manifest: Manifest) -> Manifest:
    image = dataclasses.replace(manifest.image, node="node:18-bookworm-slim", family="debian")
    return dataclasses.replace(manifest, image=image)


def manifests() -> list[Manifest]:
    example = load_manifest(EXAMPLE)
    return [example, debian(example), load_manifest(MULTILIB)]


CASES = [
    pytest.param(
        manifest, service, id=f"{manifest.image.family}-{manifest.root.name}-{service.name}"
    )
    for manifest in manifests()
    for service in manifest.services
]


def parsed(manifest: Manifest, service: Service) -> ParsedDockerfile:
    text = render_dockerfile(manifest, service, environment(manifest))
    return parse_dockerfile(Path(service.dockerfile), text)


def words(stage: Stage, keyword: str) -> list[list[str]]:
    return [i.value.split() for i in stage.all(keyword)]


# -- golden ------------------------------------------------------------------------------


GOLDEN_SETS = [
    ("kodingcaravan/alpine", lambda: load_manifest(EXAMPLE)),
    ("kodingcaravan/debian", lambda: debian(load_manifest(EXAMPLE))),
    ("multilib", lambda: load_manifest(MULTILIB)),
]


@pytest.mark.parametrize(("folder", "make"), GOLDEN_SETS, ids=[g[0] for g in GOLDEN_SETS])
def test_renderings_equal_golden(folder: str, make: object) -> None:
    manifest = make()  # type: ignore[operator]
    env = environment(manifest)
    golden = sorted((GOLDEN / folder).iterdir())
    assert golden, "golden set is empty"
    for path in golden:
        if path.name == "dockerignore":
            rendered = render_dockerignore(manifest, env)
        else:
            service = manifest.service(path.name.removesuffix(".Dockerfile"))
            assert service is not None, path
            rendered = render_dockerfile(manifest, service, env)
        assert rendered == path.read_text(), (
            f"{path} differs from the rendering; if the template change is intended, run "
            "`python scripts/regenerate-golden.py` and review the diff"
        )


def test_example_canonical_files_are_renderings() -> None:
    manifest = load_manifest(EXAMPLE)
    for file in render_files(manifest):
        committed = (EXAMPLE / file.path).read_text()
        if file.service in AUDITED_DRIFT:
            assert committed != file.text
        else:
            assert committed == file.text, file.path


# -- properties on the parsed structure ---------------------------------------------------


@pytest.mark.parametrize(("manifest", "service"), CASES)
def test_stages_and_base_image(manifest: Manifest, service: Service) -> None:
    dockerfile = parsed(manifest, service)
    assert [s.name for s in dockerfile.stages] == STAGES
    assert [s.base for s in dockerfile.stages] == [
        manifest.image.node,
        "base",
        "deps",
        "deps",
        manifest.image.node,  # runtime: the same Node.js base, not the toolchain stage
    ]


@pytest.mark.parametrize(("manifest", "service"), CASES)
def test_toolchain_only_before_runtime(manifest: Manifest, service: Service) -> None:
    dockerfile = parsed(manifest, service)
    base = dockerfile.stage_named("base")
    assert base is not None
    assert dockerfile.toolchain_installs(base), "base stage installs python3 make g++"
    installed = set(dockerfile.toolchain_installs(base)[0].value.split())
    assert installed >= TOOLCHAIN
    runtime = dockerfile.runtime
    assert dockerfile.toolchain_installs(runtime) == []
    for instruction in runtime.all("RUN"):
        assert not TOOLCHAIN & set(instruction.value.split()), instruction.text
    # Nothing in the runtime stage comes from the toolchain stage except via COPY --from.
    assert {i.flag("from") for i in runtime.all("COPY")} == {"prod-deps", "builder"}


@pytest.mark.parametrize(("manifest", "service"), CASES)
def test_dependency_layer_copies_manifests_only(manifest: Manifest, service: Service) -> None:
    deps = parsed(manifest, service).stage_named("deps")
    assert deps is not None
    copied = [c for i in deps.all("COPY") for c in i.arguments[:-1]]
    assert copied[:3] == ["package.json", "pnpm-lock.yaml", "pnpm-workspace.yaml"]
    assert copied[3:] == [f"{p.path}/package.json" for p in service.projects]
    assert words(deps, "RUN") == [["pnpm", "install", "--frozen-lockfile"]]
    # the install is the last instruction: a source edit cannot reach it
    assert deps.instructions[-1].keyword == "RUN"


@pytest.mark.parametrize(("manifest", "service"), CASES)
def test_builds_libraries_then_extra_deps_then_service(
    manifest: Manifest, service: Service
) -> None:
    builder = parsed(manifest, service).stage_named("builder")
    assert builder is not None
    commands = [c for i in builder.all("RUN") for c in i.commands()]
    built = [c.split()[2] for c in commands if c.startswith("pnpm --filter")]
    assert built == [p.name for p in service.projects if p.build]
    assert built[-1] == service.package
    if manifest.shared:
        shared = next(p.name for p in service.projects if p.path == manifest.shared)
        assert built[0] == shared


@pytest.mark.parametrize(("manifest", "service"), CASES)
def test_production_install_from_lockfile_with_rewrites(
    manifest: Manifest, service: Service
) -> None:
    prod = parsed(manifest, service).stage_named("prod-deps")
    assert prod is not None
    (run,) = prod.all("RUN")
    commands = run.commands()
    assert "pnpm install --frozen-lockfile --prod --offline" in commands
    rewritten = {
        (c.split()[-1], c) for c in commands if c.startswith("sed -i")
    }  # (package.json, command)
    for project in service.runtime_projects:
        for rewrite in project.rewrites:
            target = f"{project.path}/package.json"
            assert any(
                path == target and f'"{rewrite.dependency}": "{rewrite.spec}"' in command
                for path, command in rewritten
            ), (target, rewrite)
            if rewrite.spec.startswith("file:"):
                # the file: path resolves to the library's place under /app
                resolved = posixpath.normpath(posixpath.join(project.app_path, rewrite.spec[5:]))
                assert resolved in {p.app_path for p in service.runtime_projects}


@pytest.mark.parametrize(("manifest", "service"), CASES)
def test_runtime_stage(manifest: Manifest, service: Service) -> None:
    runtime = parsed(manifest, service).runtime
    assert words(runtime, "ENV")[0] == ["NODE_ENV=production"]
    (create_user,) = runtime.all("RUN")
    if manifest.image.family == "alpine":
        assert "addgroup -S -g 1001 nodejs" in create_user.commands()
        assert "adduser -S -D -H -u 1001 -G nodejs nodejs" in create_user.commands()
    else:
        assert "groupadd --system --gid 1001 nodejs" in create_user.commands()
        assert create_user.commands()[1].startswith("useradd --system --uid 1001 --gid nodejs")
    keywords = [i.keyword for i in runtime.instructions]
    assert keywords.index("RUN") < keywords.index("COPY") < keywords.index("USER")
    for copy in runtime.all("COPY"):
        assert copy.flag("chown") == "nodejs:nodejs", copy.text
    assert runtime.last("USER").value == "nodejs"  # type: ignore[union-attr]
    assert runtime.last("WORKDIR").value == service.workdir  # type: ignore[union-attr]
    cmd = runtime.last("CMD")
    assert cmd is not None
    assert cmd.exec_form() == ["node", service.entrypoint]
    # production dependencies come from prod-deps, build output of each runtime package from
    # the builder, and nothing else
    copies = {(i.flag("from"), i.arguments[0]) for i in runtime.all("COPY")}
    assert copies == {("prod-deps", "/app/")} | {
        ("builder", f"/app/{p.path}/{p.output}/") for p in service.runtime_projects
    }


@pytest.mark.parametrize(("manifest", "service"), CASES)
def test_http_services_expose_and_check_health_on_port(
    manifest: Manifest, service: Service
) -> None:
    runtime = parsed(manifest, service).runtime
    healthcheck = runtime.last("HEALTHCHECK")
    if not service.is_http:
        assert healthcheck is None
        assert runtime.all("EXPOSE") == []
        return
    assert words(runtime, "EXPOSE") == [[str(service.port)]]
    assert f"PORT={service.port}" in [w for ws in words(runtime, "ENV") for w in ws]
    assert healthcheck is not None
    probe = json.loads(healthcheck.value[healthcheck.value.index("CMD") + 3 :])
    assert probe[:2] == ["node", "-e"]
    assert "port: process.env.PORT" in probe[2]
    assert f"path: '{service.health}'" in probe[2]


def test_extra_dep_relative_import_resolves_in_runtime_layout() -> None:
    manifest = load_manifest(EXAMPLE)
    service = manifest.service("allocation-worker")
    assert service is not None
    runtime = parsed(manifest, service).runtime
    shipped = {
        i.arguments[1].rstrip("/") for i in runtime.all("COPY") if i.flag("from") == "builder"
    }
    # allocation-worker's dist/index.js imports ../../admin-service/dist/services/...
    entry_dir = posixpath.join(service.workdir, "dist")
    target = posixpath.normpath(posixpath.join(entry_dir, "../../admin-service/dist"))
    assert target == "/app/services/admin-service/dist"
    assert posixpath.relpath(target, "/app") in shipped


def test_debian_family_uses_apt_without_recommends() -> None:
    manifest = debian(load_manifest(EXAMPLE))
    base = parsed(manifest, manifest.services[0]).stage_named("base")
    assert base is not None
    commands = base.all("RUN")[0].commands()
    assert commands[:3] == [
        "apt-get update",
        "apt-get install -y --no-install-recommends python3 make g++",
        "rm -rf /var/lib/apt/lists/*",
    ]


def test_alpine_family_uses_apk() -> None:
    manifest = load_manifest(EXAMPLE)
    base = parsed(manifest, manifest.services[0]).stage_named("base")
    assert base is not None
    assert base.all("RUN")[0].commands()[0] == "apk add --no-cache python3 make g++"


def test_output_is_deterministic_and_says_it_is_generated() -> None:
    first = render_files(load_manifest(EXAMPLE))
    second = render_files(load_manifest(EXAMPLE))
    assert [f.text for f in first] == [f.text for f in second]
    for file in first:
        head = file.text.splitlines()[:2]
        assert head[0].startswith("# Generated by dockerforge from dockerforge.yaml")
        expected = f"dockerforge render {file.service}" if file.service else "dockerforge render"
        assert head[1] == f"# Regenerate with: {expected}"


def test_dockerignore_keeps_build_context_clean() -> None:
    manifest = load_manifest(MULTILIB)
    lines = render_dockerignore(manifest, environment(manifest)).splitlines()
    patterns = [line for line in lines if line and not line.startswith("#")]
    for needed in (".git", "**/node_modules", "**/dist", "**/build", "**/.env*"):
        assert needed in patterns


def test_repository_templates_extend_the_bundled_ones(example: Path) -> None:
    folder = example / "docker-templates"
    folder.mkdir()
    (folder / "Dockerfile.j2").write_text(
        '{% extends "dockerforge/Dockerfile.j2" %}\n'
        "{% block service_runtime %}\n"
        'LABEL org.opencontainers.image.title="{{ service.name }}"\n'
        "{{ super() }}"
        "{% endblock %}\n"
    )
    manifest_file = example / "dockerforge.yaml"
    manifest_file.write_text("templates: docker-templates\n" + manifest_file.read_text())
    manifest = load_manifest(example)
    service = manifest.service("api-gateway")
    assert service is not None
    runtime = parsed(manifest, service).runtime
    assert [i.value for i in runtime.all("LABEL")] == [
        'org.opencontainers.image.title="api-gateway"'
    ]
    assert runtime.last("HEALTHCHECK") is not None  # super() kept the bundled block


def test_template_mistake_names_the_template_file_and_line(example: Path) -> None:
    folder = example / "docker-templates"
    folder.mkdir()
    (folder / "Dockerfile.j2").write_text("FROM node\n{% if %}\n")
    manifest_file = example / "dockerforge.yaml"
    manifest_file.write_text("templates: docker-templates\n" + manifest_file.read_text())
    result = run_cli("check", "--repo", example)
    assert result.code == 2
    assert result.stderr.startswith(f"{folder / 'Dockerfile.j2'}:2: template error:"), result.stderr
