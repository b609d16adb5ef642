"""dockerforge init: infer the manifest of the example and of two other layouts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dockerforge.commands.check import check
from dockerforge.commands.init import comment, render_manifest, yaml_scalar
from dockerforge.infer import infer_manifest
from dockerforge.manifest import load_manifest
from dockerforge.model import Manifest, Service
from dockerforge.render import render_files
from tests.conftest import AUDITED_DRIFT, EXAMPLE, run_cli, snapshot


def write_files(root: Path, files: dict[str, str | dict]) -> Path:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        text = content if isinstance(content, str) else json.dumps(content, indent=2) + "\n"
        path.write_text(text)
    return root


def package(name: str, *, start: str | None = None, build: bool = True, **extra: object) -> dict:
    scripts = {"build": "tsc"} if build else {}
    if start is not None:
        scripts["start"] = start
    return {"name": name, "version": "1.0.0", "scripts": scripts, **extra}


def shape(service: Service) -> tuple:
    return (
        service.name,
        service.kind,
        service.port,
        service.health,
        service.entrypoint,
        service.deps,
        service.path,
        tuple(p.path for p in service.projects),
    )


def drifted(manifest: Manifest) -> set[str]:
    return {f.rendered.service or f.path for f in check(manifest, None) if f.drifted}


# -- the example -------------------------------------------------------------------------
def test_init_reproduces_the_example_manifest(example: Path) -> None:
    hand_written = load_manifest(example)
    (example / "dockerforge.yaml").unlink()
    result = run_cli("init", "--repo", example)
    assert result.code == 0, result.stderr
    inferred = load_manifest(example)

    assert sorted(map(shape, inferred.services)) == sorted(map(shape, hand_written.services))
    assert inferred.image == hand_written.image
    assert inferred.image.node == "node:18-alpine"
    assert (inferred.scope, inferred.shared, inferred.services_dir) == (
        "@kodingcaravan",
        "shared",
        "services",
    )
    assert drifted(inferred) == drifted(hand_written) == AUDITED_DRIFT
    checked = run_cli("check", "--repo", example)
    assert checked.code == 1
    assert checked.stdout.splitlines()[-1].startswith("6 of 18 files drift from the templates")

    lines = result.stdout.splitlines()
    assert lines[-1] == "wrote dockerforge.yaml: 17 services, 1 library, 0 skipped"
    assert (
        "allocation-worker: extra dep admin-service, from "
        "services/allocation-worker/src/index.ts:8 "
        "(imports ../../admin-service/dist/services/allocation.service)"
    ) in lines
    assert "api-gateway: http, port 3000 (services/api-gateway/Dockerfile:49: EXPOSE 3000)" in lines
    assert (
        "session-worker: worker (services/session-worker/Dockerfile has no EXPOSE or HEALTHCHECK)"
    ) in lines
    assert "image.pnpm: 9.15.9 (package.json packageManager)" in lines
    text = (example / "dockerforge.yaml").read_text()
    assert '  scope: "@kodingcaravan"  # the name of shared/package.json\n' in text
    assert "unsure" not in text  # everything came from a Dockerfile or a package.json


def test_init_never_overwrites_without_force(example: Path) -> None:
    before = snapshot(example)
    result = run_cli("init", "--repo", example)
    assert result.code == 2
    assert result.stderr.endswith("dockerforge.yaml: already exists; pass --force to replace it\n")
    assert snapshot(example) == before
    forced = run_cli("init", "--force", "--repo", example)
    assert forced.code == 0
    assert (
        (example / "dockerforge.yaml")
        .read_text()
        .startswith("# dockerforge manifest, written by `dockerforge init`")
    )


def test_stdout_writes_nothing(example: Path) -> None:
    (example / "dockerforge.yaml").unlink()
    before = snapshot(example)
    result = run_cli("init", "--stdout", "--repo", example)
    assert result.code == 0
    assert result.stdout.startswith("# dockerforge manifest")
    assert "library: shared (@kodingcaravan/shared)" in result.stderr
    assert snapshot(example) == before


def test_not_a_monorepo_root(tmp_path: Path) -> None:
    result = run_cli("init", "--repo", tmp_path)
    assert result.code == 2
    assert "no package.json in" in result.stderr
    assert list(tmp_path.iterdir()) == []


# -- layout: package.json workspaces, services in apps/ and services/ --------------------
@pytest.fixture
def acme(tmp_path: Path) -> Path:
    return write_files(
        tmp_path / "acme",
        {
            "package.json": {
                "name": "acme",
                "private": True,
                "workspaces": ["packages/*", "apps/*", "services/*"],
                "packageManager": "pnpm@9.12.0",
                "engines": {"node": ">=20"},
            },
            "tsconfig.base.json": "{}\n",
            "packages/db/package.json": package("@acme/db", main="dist/index.js"),
            "packages/logger/package.json": package("@acme/logger", main="dist/index.js"),
            "packages/tsconfig/package.json": package("@acme/tsconfig", build=False),
            "apps/api/package.json": package(
                "@acme/api",
                start="node build/server.js",
                main="build/server.js",
                dependencies={
                    "@acme/db": "workspace:*",
                    "@acme/logger": "workspace:*",
                    "express": "^4.19.0",
                },
                devDependencies={"@acme/tsconfig": "workspace:*"},
            ),
            "apps/api/src/server.ts": (
                "import express from 'express';\n"
                "const app = express();\n"
                "app.get('/healthz', (_req, res) => res.send('ok'));\n"
                "app.listen(process.env.PORT || 8080);\n"
            ),
            "apps/admin/package.json": package(
                "@acme/admin",
                start="node dist/index.js",
                dependencies={"@acme/db": "workspace:*"},
            ),
            "apps/admin/src/index.ts": (
                "import * as http from 'http';\n"
                "http.createServer((_req, res) => res.end('ok')).listen(4000);\n"
                "export {};\n"
            ),
            "apps/admin/src/jobs.ts": "export function nightly(): void {}\n",
            "apps/web/package.json": package(
                "@acme/web", start="next start", dependencies={"next": "14.2.0", "react": "18.3.1"}
            ),
            "services/billing-worker/package.json": package(
                "@acme/billing-worker",
                start="node dist/index.js",
                dependencies={"@acme/db": "workspace:*", "@acme/logger": "workspace:*"},
            ),
            "services/billing-worker/src/index.ts": (
                "import { nightly } from '@acme/logger';\n"
                "// the admin app's job module, by relative path like the audited repo\n"
                "const jobs = require('../../../apps/admin/dist/jobs');\n"
                "setInterval(() => jobs.nightly(), 60_000);\n"
            ),
            "services/ml/pyproject.toml": "[project]\nname = 'ml'\n",
            "services/ml/app.py": "print('hi')\n",
        },
    )


def test_init_on_apps_and_services_folders(acme: Path) -> None:
    result = run_cli("init", "--repo", acme)
    assert result.code == 0, result.stderr
    manifest = load_manifest(acme)
    assert (manifest.scope, manifest.shared, manifest.services_dir) == (
        "@acme",
        "packages/db",
        "apps",
    )
    assert manifest.image.node == "node:20-alpine"
    assert (manifest.image.family, manifest.image.pnpm) == ("alpine", "9.12.0")
    assert sorted(map(shape, manifest.services)) == [
        (
            "admin",
            "http",
            4000,
            "/health",
            "dist/index.js",
            (),
            "apps/admin",
            ("packages/db", "apps/admin"),
        ),
        (
            "api",
            "http",
            8080,
            "/healthz",
            "build/server.js",
            (),
            "apps/api",
            ("packages/db", "packages/logger", "packages/tsconfig", "apps/api"),
        ),
        (
            "billing-worker",
            "worker",
            None,
            None,
            "dist/index.js",
            ("admin",),
            "services/billing-worker",
            ("packages/db", "apps/admin", "packages/logger", "services/billing-worker"),
        ),
    ]
    lines = result.stdout.splitlines()
    assert "api: http, port 8080 (apps/api/src/server.ts:4)" in lines
    assert "api: entrypoint build/server.js (apps/api/package.json: start script)" in lines
    assert (
        "billing-worker: extra dep admin, from services/billing-worker/src/index.ts:3 "
        "(imports ../../../apps/admin/dist/jobs)"
    ) in lines
    assert "billing-worker: path services/billing-worker" in lines
    assert (
        "skipped apps/web: Next.js app (next in package.json); dockerforge renders Node.js services"
    ) in lines
    assert "skipped services/ml: Python service (pyproject.toml), not Node.js" in lines
    assert "library: packages/tsconfig (@acme/tsconfig)" in lines

    text = (acme / "dockerforge.yaml").read_text()
    # Guesses carry a comment saying so; facts do not.
    assert "    port: 4000  # apps/admin/src/index.ts:2\n" in text
    assert "    health: /health  # unsure: default; no health route found\n" in text
    assert ("    kind: worker  # unsure: no Dockerfile and nothing in its source listens\n") in text
    assert "#   apps/web: Next.js app" in text
    assert "#   services/ml: Python service (pyproject.toml), not Node.js\n" in text
    assert [f.service for f in render_files(manifest) if f.service] == [
        "admin",
        "api",
        "billing-worker",
    ]


# -- layout: pnpm-workspace.yaml, shared under packages/, Dockerfiles on debian ----------
ORDERS_DOCKERFILE = """\
FROM node:20-bookworm-slim AS build
RUN corepack enable && npm install -g pnpm@8.15.4
WORKDIR /app
COPY . .
RUN pnpm install --frozen-lockfile && pnpm --filter @shop/orders build

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /app ./
WORKDIR /app/services/orders
EXPOSE 7000
HEALTHCHECK CMD curl -f http://localhost:7000/livez || exit 1
CMD ["node", "dist/main.js"]
"""

EMAILS_DOCKERFILE = """\
FROM node:20-bookworm-slim
WORKDIR /app
COPY . .
RUN npm install -g pnpm@8.15.4 && pnpm install --frozen-lockfile
WORKDIR /app/services/emails
CMD ["npm", "start"]
"""

FRONTEND_DOCKERFILE = """\
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY . .
RUN npx vite build

FROM nginx:1.27-alpine
COPY --from=build /app/frontend/dist /usr/share/nginx/html
"""


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return write_files(
        tmp_path / "shop",
        {
            "package.json": {"name": "shop", "private": True},
            "pnpm-workspace.yaml": 'packages:\n  - "packages/*"\n  - "services/*"\n  - frontend\n',
            "packages/shared/package.json": package("@shop/shared", main="dist/index.js"),
            "packages/money/package.json": package("@shop/money", main="dist/index.js"),
            "services/orders/package.json": package(
                "@shop/orders",
                start="node dist/main.js",
                main="dist/main.js",
                dependencies={"@shop/shared": "workspace:^", "@shop/money": "workspace:*"},
            ),
            "services/orders/Dockerfile": ORDERS_DOCKERFILE,
            "services/emails/package.json": package(
                "@shop/emails",
                start="node --enable-source-maps dist/index.js",
                dependencies={"@shop/shared": "workspace:*", "@shop/orders": "workspace:*"},
            ),
            "services/emails/Dockerfile": EMAILS_DOCKERFILE,
            "services/legacy-php/composer.json": "{}\n",
            "frontend/package.json": package(
                "@shop/frontend", dependencies={"react": "18.3.1"}, devDependencies={"vite": "5"}
            ),
            "frontend/Dockerfile": FRONTEND_DOCKERFILE,
        },
    )


def test_init_on_debian_dockerfiles_with_a_static_frontend(shop: Path) -> None:
    result = run_cli("init", "--repo", shop)
    assert result.code == 0, result.stderr
    manifest = load_manifest(shop)
    assert (manifest.scope, manifest.shared, manifest.services_dir) == (
        "@shop",
        "packages/shared",
        "services",
    )
    assert (manifest.image.node, manifest.image.family, manifest.image.pnpm) == (
        "node:20-bookworm-slim",
        "debian",
        "8.15.4",
    )
    assert sorted(map(shape, manifest.services)) == [
        (
            "emails",
            "worker",
            None,
            None,
            "dist/index.js",
            ("orders",),
            "services/emails",
            ("packages/money", "packages/shared", "services/orders", "services/emails"),
        ),
        (
            "orders",
            "http",
            7000,
            "/livez",
            "dist/main.js",
            (),
            "services/orders",
            ("packages/money", "packages/shared", "services/orders"),
        ),
    ]
    lines = result.stdout.splitlines()
    assert (
        "skipped frontend: static frontend served by nginx "
        "(frontend/Dockerfile:6: FROM nginx:1.27-alpine)"
    ) in lines
    assert "skipped services/legacy-php: PHP service (composer.json), not Node.js" in lines
    assert "image.pnpm: 8.15.4 (unsure: services/emails/Dockerfile:4)" in lines
    assert (
        "emails: extra dep orders, from services/emails/package.json (@shop/orders: workspace:*)"
    ) in lines
    assert (
        "emails: entrypoint dist/index.js (unsure: services/emails/package.json: start script "
        "(drops --enable-source-maps))"
    ) in lines
    text = (shop / "dockerforge.yaml").read_text()
    assert "    health: /livez  # services/orders/Dockerfile:12: HEALTHCHECK\n" in text
    assert "    entrypoint: dist/main.js  # services/orders/Dockerfile:13: CMD\n" in text
    assert "  pnpm: 8.15.4  # unsure: services/emails/Dockerfile:4\n" in text


def test_inference_api_says_where_values_came_from(shop: Path) -> None:
    inferred = infer_manifest(shop)
    orders = inferred.service("orders")
    assert orders is not None and orders.port is not None
    assert (orders.port.value, orders.port.source, orders.port.sure) == (
        7000,
        "services/orders/Dockerfile:11: EXPOSE 7000",
        True,
    )
    assert [lib.path for lib in inferred.libraries] == ["packages/money", "packages/shared"]
    assert inferred.pnpm is not None and not inferred.pnpm.sure
    assert inferred.service("frontend") is None


def test_no_service_found_is_a_clear_error(tmp_path: Path) -> None:
    root = write_files(
        tmp_path / "site",
        {
            "package.json": {"name": "site", "workspaces": ["apps/*"]},
            "apps/web/package.json": package("@site/web", dependencies={"next": "14.2.0"}),
        },
    )
    result = run_cli("init", "--repo", root)
    assert result.code == 2
    assert result.stderr.strip().endswith(
        "(skipped: apps/web: Next.js app (next in package.json); dockerforge renders "
        "Node.js services)"
    )
    assert not (root / "dockerforge.yaml").exists()


# -- what the template receives ----------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("services", "services"),
        ("@acme", '"@acme"'),
        ("9.15.9", "9.15.9"),
        ("1.5", '"1.5"'),
        ("yes", '"yes"'),
        ("12:30", '"12:30"'),
        ("a b", '"a b"'),
        (3000, "3000"),
    ],
)
def test_yaml_scalar(value: object, text: str) -> None:
    assert yaml_scalar(value) == text


def test_comment_cannot_break_out_of_its_line() -> None:
    assert comment("a\nservices:\n  evil: {}\r\x00") == "a services: evil: {}"


def test_rendered_manifest_of_the_example_loads(tmp_path: Path) -> None:
    text = render_manifest(infer_manifest(EXAMPLE))
    assert text.count("\n  # Workers: no port, no HTTP health check.\n") == 1
    assert "    deps:\n      - admin-service  # from services/allocation-worker/src" in text
