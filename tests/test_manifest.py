"""Loading dockerforge.yaml: defaults from the workspace, and one clear error per mistake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dockerforge.errors import UserError
from dockerforge.manifest import find_repo, load_manifest
from dockerforge.workspace import parse_package
from tests.conftest import run_cli, snapshot


def write_manifest(root: Path, text: str) -> None:
    (root / "dockerforge.yaml").write_text(text)


def load_error(root: Path) -> str:
    with pytest.raises(UserError) as info:
        load_manifest(root)
    return str(info.value)


# -- defaults ----------------------------------------------------------------------------


def test_example_defaults_come_from_the_workspace(example: Path) -> None:
    manifest = load_manifest(example)
    assert manifest.scope == "@kodingcaravan"
    assert manifest.shared == "shared"
    assert manifest.services_dir == "services"
    assert manifest.image.pnpm == "9.15.9"  # root packageManager
    assert manifest.image.family == "alpine"  # from the node:18-alpine tag
    assert manifest.build_files == ("tsconfig.base.json",)
    assert len(manifest.services) == 17
    gateway = manifest.service("api-gateway")
    assert gateway is not None
    assert (gateway.kind, gateway.port, gateway.health) == ("http", 3000, "/health")
    assert gateway.entrypoint == "dist/index.js"
    worker = manifest.service("session-worker")
    assert worker is not None
    assert (worker.kind, worker.port, worker.health) == ("worker", None, None)


def test_two_line_manifest_takes_node_image_from_engines(example: Path) -> None:
    write_manifest(example, "services:\n  api-gateway:\n    port: 3000\n")
    manifest = load_manifest(example)
    assert manifest.image.node == "node:18-alpine"  # engines.node >=18.0.0
    assert [s.name for s in manifest.services] == ["api-gateway"]


def test_extra_deps_resolve_into_build_order(example: Path) -> None:
    service = load_manifest(example).service("allocation-worker")
    assert service is not None
    assert [p.path for p in service.projects] == [
        "shared",
        "services/admin-service",
        "services/allocation-worker",
    ]
    assert all(p.runtime for p in service.projects)


def test_several_libraries_transitively_and_catalogs(multilib: Path) -> None:
    manifest = load_manifest(multilib)
    api = manifest.service("api")
    assert api is not None
    assert [(p.path, p.runtime) for p in api.projects] == [
        ("packages/events", True),
        ("packages/db", True),
        ("packages/tsconfig", False),  # a devDependency: installed and built with, not shipped
        ("apps/api", True),
    ]
    rewrites = {p.path: {r.dependency: r.spec for r in p.rewrites} for p in api.projects}
    assert rewrites["packages/db"] == {"@acme/events": "file:../events", "zod": "^3.23.8"}
    assert rewrites["packages/events"] == {"ms": "2.1.3"}  # catalogs.legacy
    assert rewrites["apps/api"] == {
        "@acme/db": "file:../../packages/db",  # workspace:~
        "@acme/events": "file:../../packages/events",  # workspace:*
    }
    assert api.own_project.output == "build"  # from the entrypoint build/server.js
    assert manifest.image.family == "debian"
    assert manifest.scope == "@acme"  # the only scope in the workspace


def test_find_repo_walks_up(example: Path) -> None:
    assert find_repo(example / "services" / "api-gateway" / "src") == example.resolve()


# -- mistakes: file:line:col, exit 2, nothing written ---------------------------------------

MISTAKES = [
    pytest.param(
        "services:\n  api-gateway:\n    port: abc\n",
        "dockerforge.yaml:3:11: services.api-gateway.port: expected an integer, got 'abc'",
        id="wrong-type",
    ),
    pytest.param(
        "services:\n  api-gateway:\n    prot: 3000\n",
        "dockerforge.yaml:3:5: services.api-gateway: unknown key 'prot' in service; "
        "did you mean 'port'?",
        id="unknown-key-did-you-mean",
    ),
    pytest.param(
        "services:\n  admin-service:\n    port: 3009\n  allocation-worker:\n    kind: worker\n"
        "    deps: [admin-servise]\n",
        "dockerforge.yaml:6:12: services.allocation-worker.deps: unknown service "
        "'admin-servise'; did you mean 'admin-service'?",
        id="unknown-extra-dep",
    ),
    pytest.param(
        "services:\n  allocation-worker:\n    kind: worker\n    deps: [admin-service]\n",
        "dockerforge.yaml:4:12: services.allocation-worker.deps: unknown service "
        "'admin-service' (there is a package at services/admin-service: declare it under "
        "services:)",
        id="extra-dep-not-declared",
    ),
    pytest.param(
        "services:\n  api-gateway:\n    port: 3000\n  api-gateway:\n    port: 3001\n",
        "dockerforge.yaml:4:3: duplicate key 'api-gateway' (first defined on line 2)",
        id="duplicate-service",
    ),
    pytest.param(
        "services:\n  api-gateway:\n    port: [3000\n",
        "dockerforge.yaml:4:1: invalid YAML",
        id="invalid-yaml",
    ),
    pytest.param(
        "services:\n  api-gateway:\n    kind: http\n",
        "dockerforge.yaml:2:3: services.api-gateway: an http service needs a port",
        id="http-without-port",
    ),
    pytest.param(
        "services:\n  session-worker:\n    kind: worker\n    port: 3000\n",
        "dockerforge.yaml:4:11: services.session-worker.port: a worker has no port",
        id="worker-with-port",
    ),
    pytest.param(
        "services:\n  API_Gateway:\n    port: 3000\n",
        "dockerforge.yaml:2:3: services: 'API_Gateway' is not a valid service name",
        id="bad-service-name",
    ),
    pytest.param(
        "services:\n  billing-service:\n    port: 3012\n",
        "dockerforge.yaml:2:3: services.billing-service: services/billing-service is not a "
        "workspace package (there is no package.json there)",
        id="service-without-folder",
    ),
    pytest.param(
        "image:\n  node: node:18-alpine\n  family: debian\nservices:\n  api-gateway:\n"
        "    port: 3000\n",
        "dockerforge.yaml:3:11: image.family: 'debian' does not match the image "
        "'node:18-alpine' (which is alpine)",
        id="family-mismatch",
    ),
    pytest.param(
        'services:\n  api-gateway:\n    port: 3000\n    health: "/health\'; rm -rf /"\n',
        "dockerforge.yaml:4:13: services.api-gateway.health: expected a URL path starting with /",
        id="injection-in-health-path",
    ),
    pytest.param(
        'image:\n  node: "node:18\\nRUN curl evil"\nservices:\n  api-gateway:\n    port: 3000\n',
        "dockerforge.yaml:2:9: image.node: expected an image reference",
        id="injection-in-image",
    ),
    pytest.param(
        "templates: ../elsewhere\nservices:\n  api-gateway:\n    port: 3000\n",
        "dockerforge.yaml:1:12: templates: expected a relative folder path inside the repository",
        id="templates-outside-repo",
    ),
    pytest.param(
        "services:\n  allocation-worker:\n    kind: worker\n    deps: [allocation-worker]\n",
        "dockerforge.yaml:4:12: services.allocation-worker.deps: a service cannot depend on itself",
        id="self-dep",
    ),
    pytest.param(
        "services:\n  api-gateway:\n    port: 70000\n",
        "dockerforge.yaml:3:11: services.api-gateway.port: expected an integer from 1 to "
        "65535, got 70000",
        id="port-out-of-range",
    ),
    pytest.param("", "dockerforge.yaml:1: the manifest is empty", id="empty"),
]


@pytest.mark.parametrize(("text", "expected"), MISTAKES)
def test_manifest_mistakes_name_file_line_and_column(
    example: Path, text: str, expected: str
) -> None:
    write_manifest(example, text)
    for path in example.glob("services/*/Dockerfile"):
        path.unlink()  # so that a write would be visible
    before = snapshot(example)
    result = run_cli("render", "--repo", example, cwd=example)
    assert result.code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # one clear message, no traceback
    assert lines[0].startswith(expected), lines[0]
    assert snapshot(example) == before  # nothing written


def test_unknown_top_level_key_lists_the_keys(example: Path) -> None:
    write_manifest(example, "service:\n  api-gateway:\n    port: 3000\n")
    assert load_error(example).endswith(
        "/dockerforge.yaml:1:1: unknown key 'service' in top level; did you mean 'services'?"
    )


def test_catalog_without_entry_names_the_package_json_line(multilib: Path) -> None:
    db = multilib / "packages" / "db" / "package.json"
    data = json.loads(db.read_text())
    data["dependencies"]["left-pad"] = "catalog:"
    db.write_text(json.dumps(data, indent=2) + "\n")
    message = load_error(multilib)
    assert message.startswith(f"{db}:") or message.startswith("packages/db/package.json:")
    line = next(i for i, t in enumerate(db.read_text().splitlines(), 1) if "left-pad" in t)
    assert f"package.json:{line}: dependency 'left-pad' uses 'catalog:' but " in message
    assert "pnpm-workspace.yaml has no catalog entry for it" in message


def test_workspace_dep_to_unknown_package(multilib: Path) -> None:
    api = multilib / "apps" / "api" / "package.json"
    data = json.loads(api.read_text())
    data["dependencies"]["@acme/missing"] = "workspace:*"
    api.write_text(json.dumps(data, indent=2) + "\n")
    assert "no workspace package is named '@acme/missing'" in load_error(multilib)


def test_runtime_library_without_build_script(multilib: Path) -> None:
    events = multilib / "packages" / "events" / "package.json"
    data = json.loads(events.read_text())
    del data["scripts"]
    events.write_text(json.dumps(data, indent=2) + "\n")
    assert '@acme/events is needed at runtime but has no "build" script' in load_error(multilib)


def test_dependency_cycle_is_reported(multilib: Path) -> None:
    events = multilib / "packages" / "events" / "package.json"
    data = json.loads(events.read_text())
    data["dependencies"]["@acme/db"] = "workspace:*"
    events.write_text(json.dumps(data, indent=2) + "\n")
    message = load_error(multilib)
    assert message.endswith(
        "packages/db/package.json:6: dependency cycle: packages/db -> packages/events -> "
        "packages/db"
    ), message


def test_missing_manifest_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("check", "--repo", tmp_path, cwd=tmp_path)
    assert result.code == 2
    assert "no dockerforge.yaml" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_flag_is_a_usage_error(example: Path) -> None:
    result = run_cli("check", "--frobnicate", cwd=example)
    assert result.code == 2
    assert "No such option: --frobnicate" in result.stderr


def test_unscoped_workspace_has_no_scope(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    (root / "services" / "api").mkdir(parents=True)
    (root / "package.json").write_text(
        '{"packageManager": "pnpm@9.15.9", "engines": {"node": "20"}}'
    )
    (root / "pnpm-workspace.yaml").write_text("packages: ['services/*']\n")
    (root / "services" / "api" / "package.json").write_text(
        '{"name": "api", "scripts": {"build": "tsc"}}'
    )
    write_manifest(root, "services:\n  api:\n    port: 8080\n")
    manifest = load_manifest(root)
    assert manifest.scope is None
    assert manifest.package_name("billing") == "billing"
    assert manifest.image.node == "node:20-alpine"


def test_several_scopes_need_an_explicit_scope(multilib: Path) -> None:
    jobs = multilib / "apps" / "jobs" / "package.json"
    jobs.write_text(jobs.read_text().replace('"@acme/jobs"', '"@other/jobs"'))
    assert "several scopes (@acme, @other); set workspace.scope" in load_error(multilib)


def test_workspace_globs_cover_folders_segment_by_segment(multilib: Path) -> None:
    workspace = load_manifest(multilib).workspace
    assert workspace.covers("apps/billing")
    assert workspace.covers("packages/db")
    assert not workspace.covers("apps/billing/nested")  # `*` stays in one path segment
    assert not workspace.covers("tools/cli")


def test_manifest_text_and_workspace_overlay_load_without_writing(example: Path) -> None:
    before = snapshot(example)
    text = (example / "dockerforge.yaml").read_text() + "  billing-service:\n    port: 3012\n"
    with pytest.raises(UserError, match=r"there is no package\.json there"):
        load_manifest(example, text=text)
    manifest = load_manifest(example)
    package = parse_package(
        example,
        "services/billing-service",
        '{"name": "@kodingcaravan/billing-service", "scripts": {"build": "tsc"}}',
    )
    loaded = load_manifest(example, text=text, workspace=manifest.workspace.with_package(package))
    billing = loaded.service("billing-service")
    assert billing is not None and billing.port == 3012
    assert snapshot(example) == before
