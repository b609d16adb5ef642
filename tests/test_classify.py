"""classify: each kind of Dockerfile on real text, its reason lines, and what needs review."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockerforge.classify import Classification, Kind, classify
from dockerforge.errors import UserError
from dockerforge.manifest import load_manifest
from dockerforge.model import Manifest
from dockerforge.render import render_files
from tests.conftest import EXAMPLE

NPM_WORKER_REASONS = [
    "npm install without a lockfile -> pnpm install --frozen-lockfile",
    "--legacy-peer-deps hides peer dependency conflicts -> peers resolved as pnpm-lock.yaml "
    "records them",
    "workspace:* dependencies left to npm, which cannot install them -> pnpm production install "
    "from the lockfile",
    "npm prune --production after a full install -> pnpm install --prod in a prod-deps stage",
    "single stage: sources and the package manager ship in the image -> deps, builder and "
    "prod-deps stages; the runtime image gets build output only",
    "tsconfig.base.json not copied into the build -> COPY tsconfig.base.json in the builder stage",
    "NODE_ENV not set to production -> ENV NODE_ENV=production",
    "runs as root -> USER nodejs (uid 1001)",
]

# A hand-written multi-stage pnpm Dockerfile for api-gateway (port 3000): frozen lockfile, a
# non-root user, a health check; nothing dockerforge would call broken, only not canonical.
HAND_WRITTEN_API = """\
FROM node:18-alpine AS build
RUN npm install -g pnpm@9.15.9
WORKDIR /app
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml tsconfig.base.json ./
COPY shared ./shared
COPY services/api-gateway ./services/api-gateway
RUN pnpm install --frozen-lockfile
RUN pnpm --filter @kodingcaravan/shared build && pnpm --filter @kodingcaravan/api-gateway build

FROM node:18-alpine
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app ./
USER node
WORKDIR /app/services/api-gateway
EXPOSE 3000
HEALTHCHECK CMD wget -qO- http://127.0.0.1:3000/health || exit 1
CMD ["node", "dist/index.js"]
"""


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    return load_manifest(EXAMPLE)


def classify_text(manifest: Manifest, name: str, text: str | None) -> Classification:
    service = manifest.service(name)
    assert service is not None
    rendered = render_files(manifest, [name])[0].text
    return classify(manifest, service.dockerfile, text, rendered, service)


def committed(name: str) -> str:
    return (EXAMPLE / "services" / name / "Dockerfile").read_text()


def with_line(text: str, after: str, line: str) -> str:
    assert after in text
    return text.replace(after, after + line + "\n", 1)


# -- kinds, on the example's own audited files --------------------------------------------
@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("session-worker", Kind.NPM),
        ("notification-worker", Kind.NPM),
        ("purchase-worker", Kind.NPM),
        ("cache-worker", Kind.NPM),
        ("allocation-worker", Kind.SINGLE_STAGE),
        ("notification-service", Kind.UNFROZEN),
        ("api-gateway", Kind.CANONICAL),
        ("admin-service", Kind.CANONICAL),
    ],
)
def test_example_files_are_classified(manifest: Manifest, name: str, kind: Kind) -> None:
    found = classify_text(manifest, name, committed(name))
    assert found.kind is kind
    assert found.pending is (kind is not Kind.CANONICAL)
    assert found.needs_review == ()  # the example's files lose nothing the user meant


def test_npm_worker_reasons(manifest: Manifest) -> None:
    found = classify_text(manifest, "session-worker", committed("session-worker"))
    assert [str(r) for r in found.reasons] == NPM_WORKER_REASONS


def test_single_stage_pnpm_reasons(manifest: Manifest) -> None:
    found = classify_text(manifest, "allocation-worker", committed("allocation-worker"))
    assert [str(r) for r in found.reasons] == [
        "single stage: sources and the package manager ship in the image -> deps, builder and "
        "prod-deps stages; the runtime image gets build output only",
        "build toolchain in runtime image -> deps stage only",
        "devDependencies in runtime image (full install) -> pnpm install --prod in the "
        "prod-deps stage",
        "workspace package copied into node_modules by hand (cp -rL) -> pnpm production "
        "install with workspace: specs rewritten to file:",
        "NODE_ENV not set to production -> ENV NODE_ENV=production",
        "runs as root -> USER nodejs (uid 1001)",
    ]


def test_unfrozen_lockfile_reason(manifest: Manifest) -> None:
    found = classify_text(manifest, "notification-service", committed("notification-service"))
    assert [str(r) for r in found.reasons] == [
        "pnpm install without --frozen-lockfile -> pnpm install --frozen-lockfile"
    ]


def test_missing(manifest: Manifest) -> None:
    found = classify_text(manifest, "api-gateway", None)
    assert found.kind is Kind.MISSING
    assert [str(r) for r in found.reasons] == ["no Dockerfile -> rendered from the manifest"]


def test_canonical_with_crlf_line_endings(manifest: Manifest) -> None:
    text = committed("api-gateway").replace("\n", "\r\n")
    assert classify_text(manifest, "api-gateway", text).kind is Kind.CANONICAL


def test_drift_after_a_manifest_change_needs_no_review(manifest: Manifest) -> None:
    # Rendered when api-gateway listened on 3100; the manifest now says 3000.
    old = committed("api-gateway").replace("3000", "3100")
    found = classify_text(manifest, "api-gateway", old)
    assert found.kind is Kind.DRIFT
    assert [str(r) for r in found.reasons] == [
        "EXPOSE 3100 -> EXPOSE 3000 (services.api-gateway.port)"
    ]
    assert found.needs_review == ()


def test_drift_from_a_hand_edit_of_a_rendered_file(manifest: Manifest) -> None:
    old = committed("api-gateway").replace("--retries=3", "--retries=5")
    found = classify_text(manifest, "api-gateway", old)
    assert found.kind is Kind.DRIFT
    assert [str(r) for r in found.reasons] == [
        "edited by hand or rendered from an older manifest or template -> current rendering"
    ]


def test_custom_hand_written_multi_stage(manifest: Manifest) -> None:
    found = classify_text(manifest, "api-gateway", HAND_WRITTEN_API)
    assert found.kind is Kind.CUSTOM
    assert [str(r) for r in found.reasons] == [
        "written by hand -> the canonical multi-stage rendering"
    ]
    assert found.needs_review == ()


def test_yarn_is_custom_with_its_reason(manifest: Manifest) -> None:
    text = HAND_WRITTEN_API.replace("RUN pnpm install --frozen-lockfile", "RUN yarn install")
    found = classify_text(manifest, "api-gateway", text)
    assert found.kind is Kind.CUSTOM
    assert "yarn install in a pnpm monorepo -> pnpm install --frozen-lockfile" in [
        str(r) for r in found.reasons
    ]


def test_http_service_without_healthcheck(manifest: Manifest) -> None:
    lines = HAND_WRITTEN_API.splitlines(keepends=True)
    text = "".join(line for line in lines if not line.startswith("HEALTHCHECK"))
    reasons = [str(r) for r in classify_text(manifest, "api-gateway", text).reasons]
    assert reasons == ["no HEALTHCHECK on an http service -> HEALTHCHECK on PORT /health"]


def test_shell_form_and_npm_start_cmd(manifest: Manifest) -> None:
    shell = HAND_WRITTEN_API.replace('CMD ["node", "dist/index.js"]', "CMD node dist/index.js")
    found = classify_text(manifest, "api-gateway", shell)
    assert [str(r) for r in found.reasons] == [
        "shell-form CMD (sh is PID 1 and does not forward SIGTERM) -> exec-form CMD"
    ]
    assert found.needs_review == ()
    start = HAND_WRITTEN_API.replace('CMD ["node", "dist/index.js"]', 'CMD ["npm", "start"]')
    found = classify_text(manifest, "api-gateway", start)
    assert [str(r) for r in found.reasons] == [
        'npm start as the main process (signals not forwarded) -> CMD ["node", "dist/index.js"]'
    ]
    assert found.needs_review == ()  # its start script is `node dist/index.js`


def test_missing_dependency_folder_is_a_reason(manifest: Manifest) -> None:
    old = committed("allocation-worker").replace(
        "COPY services/admin-service ./services/admin-service\n", ""
    )
    reasons = [str(r) for r in classify_text(manifest, "allocation-worker", old).reasons]
    assert (
        "services/admin-service (service dependency) not in the build -> copied and built "
        "before the service"
    ) in reasons


# -- needs review ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("after", "added", "why"),
    [
        ("ENV NODE_ENV=production\n", "ENV TZ=UTC", "environment variable TZ"),
        ("FROM node:18-alpine\n", "ARG GIT_SHA", "build argument"),
        ("ENV NODE_ENV=production\n", 'LABEL team="payments"', "the template has no LABEL"),
        ("ENV NODE_ENV=production\n", "RUN apk add --no-cache curl tini", "system packages curl"),
        ("WORKDIR /app\n", "COPY assets ./assets", "copies assets"),
        ("WORKDIR /app\n", "RUN mkdir -p /app/uploads", "runs `mkdir -p /app/uploads`"),
        ("WORKDIR /app\n", "VOLUME /data", "the template has no VOLUME"),
        ("WORKDIR /app\n", "COPY .npmrc ./", "copies .npmrc"),
        ("ENV NODE_ENV=production\n", "RUN npm install -g pm2", "installs pm2 globally"),
        ("RUN pnpm install --frozen-lockfile\n", "RUN pnpm add sharp", "installs sharp outside"),
    ],
)
def test_instruction_the_rendering_drops_needs_review(
    manifest: Manifest, after: str, added: str, why: str
) -> None:
    text = with_line(HAND_WRITTEN_API, after, added)
    line = text.splitlines().index(added) + 1
    found = classify_text(manifest, "api-gateway", text)
    assert len(found.needs_review) == 1, found.needs_review
    item = found.needs_review[0]
    assert (item.line, item.instruction) == (line, added)
    assert why in item.why
    assert str(item).startswith(f"line {line}: {added} (")


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        ("EXPOSE 3000", "EXPOSE 8080", "the manifest says port 3000"),
        (
            'CMD ["node", "dist/index.js"]',
            'CMD ["node", "dist/server.js"]',
            "the rendering runs node dist/index.js",
        ),
        (
            "http://127.0.0.1:3000/health",
            "http://127.0.0.1:3000/ready",
            "checks another path than /health",
        ),
        ("FROM node:18-alpine\nENV", "FROM node:20-alpine\nENV", "set image.node"),
        ("FROM node:18-alpine\nENV", "FROM nginx:alpine\nENV", "not a Node.js image"),
    ],
)
def test_different_value_needs_review(manifest: Manifest, old: str, new: str, why: str) -> None:
    assert old in HAND_WRITTEN_API
    found = classify_text(manifest, "api-gateway", HAND_WRITTEN_API.replace(old, new))
    assert [why in item.why for item in found.needs_review] == [True], found.needs_review


def test_copy_of_a_service_that_is_not_a_dependency_names_the_field(manifest: Manifest) -> None:
    text = with_line(HAND_WRITTEN_API, "WORKDIR /app\n", "COPY services/admin-service ./admin")
    (item,) = classify_text(manifest, "api-gateway", text).needs_review
    assert item.why == (
        "admin-service is not among api-gateway's dependencies; add it to services.api-gateway.deps"
    )


def test_expose_on_a_worker_needs_review(manifest: Manifest) -> None:
    text = committed("session-worker") + "EXPOSE 9100\n"
    (item,) = classify_text(manifest, "session-worker", text).needs_review
    assert item.instruction == "EXPOSE 9100"
    assert "EXPOSE on a worker" in item.why


def test_hand_edit_to_a_rendered_file_needs_review(manifest: Manifest) -> None:
    text = with_line(committed("api-gateway"), "ENV NODE_ENV=production\n", "ENV TZ=UTC")
    found = classify_text(manifest, "api-gateway", text)
    assert found.kind is Kind.DRIFT
    assert [i.instruction for i in found.needs_review] == ["ENV TZ=UTC"]


def test_instruction_the_rendering_contains_is_carried(example: Path) -> None:
    """A template override that produces the extra line carries it over: no review."""
    (example / "overrides").mkdir()
    (example / "overrides" / "Dockerfile.j2").write_text(
        '{% extends "dockerforge/Dockerfile.j2" %}\n'
        "{% block service_runtime %}\nENV TZ=UTC\n{{ super() }}{% endblock %}\n"
    )
    manifest_file = example / "dockerforge.yaml"
    manifest_file.write_text("templates: overrides\n" + manifest_file.read_text())
    manifest = load_manifest(example)
    text = with_line(HAND_WRITTEN_API, "ENV NODE_ENV=production\n", "ENV TZ=UTC")
    found = classify_text(manifest, "api-gateway", text)
    assert found.kind is Kind.CUSTOM
    assert found.needs_review == ()


def test_unparseable_dockerfile_is_a_user_error(manifest: Manifest) -> None:
    with pytest.raises(UserError) as caught:
        classify_text(manifest, "api-gateway", "RUN echo no FROM here\n")
    assert str(caught.value).endswith(
        "services/api-gateway/Dockerfile:1: RUN before the first FROM (not a Dockerfile?)"
    )


# -- the .dockerignore -------------------------------------------------------------------
def test_dockerignore_kinds(manifest: Manifest) -> None:
    rendered = render_files(manifest)[-1]
    assert rendered.service is None
    missing = classify(manifest, rendered.path, None, rendered.text, None)
    assert missing.kind is Kind.MISSING
    extra = classify(manifest, rendered.path, rendered.text + "coverage\n", rendered.text, None)
    assert extra.kind is Kind.DRIFT
    line = len(rendered.text.splitlines()) + 1
    assert [str(i) for i in extra.needs_review] == [
        f"line {line}: coverage (the rendering does not ignore it; keep it with a template "
        "override (manifest `templates:`) or drop it with --force)"
    ]
    hand = classify(manifest, rendered.path, "node_modules\n", rendered.text, None)
    assert hand.kind is Kind.CUSTOM
    assert [i.instruction for i in hand.needs_review] == ["node_modules"]
