"""Every audit rule, on a Dockerfile or repository that breaks it and on one that does not.

Each test works on a private copy of the example and changes one thing. Expected lines were
read off the files by hand (`cat -n`); tests compare codes and locations, not prose.
"""

from __future__ import annotations

import inspect
import json
import re
import sys
from datetime import date
from pathlib import Path

import pytest

from dockerforge.audit import audit
from dockerforge.manifest import load_manifest
from dockerforge.rules import RULES, markdown_table, rule
from dockerforge.rules.base import Finding
from dockerforge.rules.node import admits_major, eol_dates
from tests.conftest import GOLDEN, REPO

TODAY = date(2026, 11, 26)
API = "services/api-gateway/Dockerfile"
SESSION = "services/session-worker/Dockerfile"
ALLOCATION = "services/allocation-worker/Dockerfile"
NOTIFICATION = "services/notification-service/Dockerfile"
GOLDEN_WORKER = (GOLDEN / "kodingcaravan" / "alpine" / "session-worker.Dockerfile").read_text()
GOLDEN_ALLOCATION = (
    GOLDEN / "kodingcaravan" / "alpine" / "allocation-worker.Dockerfile"
).read_text()
GOLDEN_API = (GOLDEN / "kodingcaravan" / "alpine" / "api-gateway.Dockerfile").read_text()
API_HEALTHCHECK_LINE = 50  # in the canonical api-gateway Dockerfile
API_RUNTIME_FROM = 36


def run(
    repo: Path, service: str, dockerfile: str | None = None, today: date = TODAY
) -> list[Finding]:
    """Audit one service of ``repo`` (after replacing its Dockerfile, when given)."""
    manifest = load_manifest(repo)
    chosen = manifest.service(service)
    assert chosen is not None
    if dockerfile is not None:
        (repo / chosen.dockerfile).write_text(dockerfile)
    report = audit(repo, [chosen], today=today, manifest=manifest)
    return list(report.findings)


def hits(findings: list[Finding], code: str) -> list[tuple[str, int | None]]:
    return [(f.path, f.line) for f in findings if f.code == code]


def bad(findings: list[Finding], code: str, expected: list[tuple[str, int | None]]) -> None:
    assert expected, "a failing case expects at least one finding"
    assert hits(findings, code) == expected, [f for f in findings if f.code == code]
    assert all(f.severity == rule(code).severity for f in findings if f.code == code)


def good(findings: list[Finding], code: str) -> None:
    assert hits(findings, code) == []


def replace_line(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def line_of(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


# -- package manager and lockfile ------------------------------------------------------
def test_df101_npm_in_pnpm_repo(example: Path) -> None:
    npm = (
        "FROM node:22-alpine\nWORKDIR /app\nCOPY package.json pnpm-lock.yaml ./\n"
        'RUN npm install -g pnpm@9.15.9 && npm ci\nUSER node\nCMD ["node", "dist/index.js"]\n'
    )
    bad(run(example, "session-worker"), "DF101", [(SESSION, 11)])
    bad(run(example, "session-worker", npm), "DF101", [(SESSION, 4)])
    good(run(example, "session-worker", GOLDEN_WORKER), "DF101")
    # A global `npm install -g pnpm` installs a tool, not the app's dependencies.
    good(run(example, "api-gateway"), "DF101")


def test_df102_copy_glob_without_package_lock(example: Path) -> None:
    bad(run(example, "session-worker"), "DF102", [(SESSION, 7)])
    (example / "package-lock.json").write_text("{}\n")
    good(run(example, "session-worker"), "DF102")


def test_df103_unfrozen_install(example: Path) -> None:
    bad(run(example, "notification-service"), "DF103", [(NOTIFICATION, 19)])
    good(run(example, "api-gateway"), "DF103")
    (example / "package-lock.json").write_text("{}\n")
    npm = (
        "FROM node:22-alpine\nWORKDIR /app\nCOPY package.json package-lock.json ./\n"
        'RUN npm install\nUSER node\nCMD ["node", "index.js"]\n'
    )
    findings = run(example, "api-gateway", npm)
    bad(findings, "DF103", [(API, 4)])
    assert hits(findings, "DF104") == []  # the lockfile is there: unfrozen, not missing


def test_df104_install_without_lockfile(example: Path) -> None:
    # The audit's original multi-stage pattern: npm install in the runtime stage after copying
    # only package.json from the builder.
    runtime_npm = (
        "FROM node:22-alpine AS builder\nWORKDIR /app\n"
        "COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./\n"
        "RUN npm install -g pnpm@9.15.9 && pnpm install --frozen-lockfile\n"
        "FROM node:22-alpine AS runtime\nWORKDIR /app/service\n"
        "COPY --from=builder /app/package.json ./\nRUN npm install --omit=dev\n"
        'USER node\nCMD ["node", "dist/index.js"]\n'
    )
    bad(run(example, "api-gateway", runtime_npm), "DF104", [(API, 8)])
    bad(run(example, "session-worker"), "DF104", [(SESSION, 11)])
    good(run(example, "api-gateway", GOLDEN_API), "DF104")
    # The lockfile comes through the builder stage: not drift.
    (example / "package-lock.json").write_text("{}\n")
    with_lock = runtime_npm.replace(
        "COPY package.json pnpm-lock.yaml", "COPY package.json package-lock.json pnpm-lock.yaml"
    ).replace(
        "COPY --from=builder /app/package.json ./", "COPY --from=builder /app/package*.json ./"
    )
    good(run(example, "api-gateway", with_lock), "DF104")


# -- image shape and user --------------------------------------------------------------
def test_df105_build_in_runtime_image(example: Path) -> None:
    bad(run(example, "allocation-worker"), "DF105", [(ALLOCATION, 17)])
    bad(run(example, "session-worker"), "DF105", [(SESSION, 11)])
    good(run(example, "allocation-worker", GOLDEN_ALLOCATION), "DF105")


def test_df106_toolchain_in_runtime(example: Path) -> None:
    bad(run(example, "allocation-worker"), "DF106", [(ALLOCATION, 5)])
    # Inherited: the runtime stage is built FROM the stage that installs the toolchain.
    inherited = replace_line(GOLDEN_API, "FROM node:18-alpine AS runtime", "FROM base AS runtime")
    bad(run(example, "api-gateway", inherited), "DF106", [(API, 9)])
    good(run(example, "api-gateway", GOLDEN_API), "DF106")


def test_df107_runs_as_root(example: Path) -> None:
    bad(run(example, "session-worker"), "DF107", [(SESSION, 2)])
    as_root = replace_line(GOLDEN_API, "USER nodejs\n", "USER root\n")
    bad(run(example, "api-gateway", as_root), "DF107", [(API, line_of(GOLDEN_API, "USER nodejs"))])
    good(run(example, "api-gateway", GOLDEN_API), "DF107")


# -- Node.js version -------------------------------------------------------------------
def test_df108_node_outside_engines(example: Path) -> None:
    root = example / "package.json"
    root.write_text(root.read_text().replace('">=18.0.0"', '">=20 <23"'))
    bad(run(example, "api-gateway"), "DF108", [(API, API_RUNTIME_FROM)])
    root.write_text(root.read_text().replace('">=20 <23"', '"^18.17.0"'))
    good(run(example, "api-gateway"), "DF108")


@pytest.mark.parametrize(
    ("spec", "admitted"),
    [
        (">=18.0.0", {18, 20, 22}),
        (">=18 <21", {18, 20}),
        ("^20.11.1", {20}),
        ("~18.19", {18}),
        ("18.x", {18}),
        ("20 || 22", {20, 22}),
        (">18", {20, 22}),
        ("<=20", {16, 18, 20}),
        ("16 - 18", {16, 18}),
        ("*", {16, 18, 20, 22}),
    ],
)
def test_engines_ranges(spec: str, admitted: set[int]) -> None:
    assert {m for m in (16, 18, 20, 22) if admits_major(spec, m)} == admitted


def test_engines_range_it_cannot_read_is_not_judged() -> None:
    assert admits_major("lts/hydrogen", 18) is None


def test_df109_no_engines_in_packages(example: Path) -> None:
    bad(run(example, "api-gateway"), "DF109", [("package.json", 9)])
    for manifest in [example / "shared/package.json", *example.glob("services/*/package.json")]:
        data = json.loads(manifest.read_text())
        data["engines"] = {"node": ">=18.0.0"}
        manifest.write_text(json.dumps(data, indent=2) + "\n")
    good(run(example, "api-gateway"), "DF109")


def test_df110_node_end_of_life(example: Path) -> None:
    bad(run(example, "api-gateway"), "DF110", [(API, API_RUNTIME_FROM)])
    bad(run(example, "session-worker"), "DF110", [(SESSION, 2)])
    # On the audit document's own date Node.js 18 was still supported.
    good(run(example, "api-gateway", today=date(2025, 1, 31)), "DF110")
    newer = GOLDEN_API.replace("node:18-alpine", "node:22-alpine")
    good(run(example, "api-gateway", newer), "DF110")


def test_node_eol_table_has_the_dates_the_audit_relies_on() -> None:
    table = eol_dates()
    assert table[18] == date(2025, 4, 30)
    assert table[20] == date(2026, 4, 30)
    assert table[22] == date(2027, 4, 30)
    assert table[24] == date(2028, 4, 30)
    assert 16 in table


# -- health checks ---------------------------------------------------------------------
def without_healthcheck(text: str) -> str:
    lines = text.splitlines(keepends=True)
    start = line_of(text, "HEALTHCHECK") - 1
    return "".join(lines[:start] + lines[start + 2 :])


def test_df111_http_without_healthcheck(example: Path) -> None:
    bad(run(example, "api-gateway", without_healthcheck(GOLDEN_API)), "DF111", [(API, 36)])
    disabled = without_healthcheck(GOLDEN_API).replace(
        "EXPOSE 3000\n", "EXPOSE 3000\nHEALTHCHECK NONE\n"
    )
    bad(run(example, "api-gateway", disabled), "DF111", [(API, line_of(disabled, "HEALTHCHECK"))])
    good(run(example, "api-gateway", GOLDEN_API), "DF111")


def test_df112_worker_with_healthcheck(example: Path) -> None:
    probe = "HEALTHCHECK CMD wget -q -O- http://127.0.0.1:3000/health || exit 1\n"
    text = GOLDEN_WORKER.replace('CMD ["node"', probe + 'CMD ["node"')
    bad(run(example, "session-worker", text), "DF112", [(SESSION, line_of(text, "HEALTHCHECK"))])
    good(run(example, "session-worker", GOLDEN_WORKER), "DF112")
    process = GOLDEN_WORKER.replace(
        'CMD ["node"', 'HEALTHCHECK CMD ["pgrep", "-x", "node"]\nCMD ["node"'
    )
    good(run(example, "session-worker", process), "DF112")


def test_df113_healthcheck_port_and_path(example: Path) -> None:
    lines = GOLDEN_API.splitlines(keepends=True)
    start = API_HEALTHCHECK_LINE - 1
    hard_coded = "".join(
        [
            *lines[:start],
            "HEALTHCHECK CMD wget -q -O- http://127.0.0.1:3000/status\n",
            *lines[start + 2 :],
        ]
    )
    findings = run(example, "api-gateway", hard_coded)
    bad(findings, "DF113", [(API, API_HEALTHCHECK_LINE)])
    message = next(f.message for f in findings if f.code == "DF113")
    assert "PORT" in message and "/health" in message
    uses_port = hard_coded.replace("127.0.0.1:3000/status", "127.0.0.1:${PORT}/health")
    good(run(example, "api-gateway", uses_port), "DF113")
    good(run(example, "api-gateway", GOLDEN_API), "DF113")


def test_df114_ecs_ignores_healthcheck(example: Path) -> None:
    bad(run(example, "api-gateway"), "DF114", [(API, API_HEALTHCHECK_LINE)])
    worker = run(example, "session-worker", GOLDEN_WORKER)
    bad(worker, "DF114", [(SESSION, line_of(GOLDEN_WORKER, 'CMD ["node"'))])
    # Nothing to remind about where there is no image yet.
    (example / API).unlink()
    good(run(example, "api-gateway"), "DF114")


# -- start command ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "start",
    ["CMD node dist/index.js", 'CMD ["npm", "start"]', 'CMD ["sh", "-c", "node dist/index.js"]'],
)
def test_df115_fragile_start(example: Path, start: str) -> None:
    text = GOLDEN_API.replace('CMD ["node", "dist/index.js"]', start)
    bad(run(example, "api-gateway", text), "DF115", [(API, line_of(text, start))])


def test_df115_shell_entrypoint_and_missing_cmd(example: Path) -> None:
    text = GOLDEN_API.replace('CMD ["node", "dist/index.js"]', "ENTRYPOINT node dist/index.js")
    bad(run(example, "api-gateway", text), "DF115", [(API, line_of(text, "ENTRYPOINT"))])
    text = GOLDEN_API.replace('CMD ["node", "dist/index.js"]\n', "")
    bad(run(example, "api-gateway", text), "DF115", [(API, API_RUNTIME_FROM)])
    good(run(example, "api-gateway", GOLDEN_API), "DF115")


# -- layout ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "instruction",
    ["COPY ../secrets/config.json ./", "COPY .env ./", "ENV CONFIG_DIR=/Users/dev/project/config"],
)
def test_df116_host_paths(example: Path, instruction: str) -> None:
    text = GOLDEN_API.replace("USER nodejs\n", f"{instruction}\nUSER nodejs\n")
    bad(run(example, "api-gateway", text), "DF116", [(API, line_of(text, instruction))])
    good(run(example, "api-gateway", GOLDEN_API), "DF116")
    template = GOLDEN_API.replace("USER nodejs\n", "COPY .env.example ./\nUSER nodejs\n")
    good(run(example, "api-gateway", template), "DF116")


def test_df117_workspace_spec_not_rewritten(example: Path) -> None:
    bad(run(example, "session-worker"), "DF117", [(SESSION, 11)])
    rewritten = (
        (REPO / "examples/kodingcaravan" / SESSION)
        .read_text()
        .replace(
            "RUN npm install --legacy-peer-deps",
            'RUN sed -i \'s#"workspace:[^"]*"#"file:../../shared"#\' '
            "services/session-worker/package.json\nRUN npm install --legacy-peer-deps",
        )
    )
    good(run(example, "session-worker", rewritten), "DF117")
    good(run(example, "session-worker", GOLDEN_WORKER), "DF117")


IMPORT = ("services/allocation-worker/src/index.ts", 8)


def test_df118_runtime_import_not_declared(example: Path) -> None:
    manifest = example / "dockerforge.yaml"
    manifest.write_text(replace_line(manifest.read_text(), "    deps: [admin-service]", ""))
    findings = run(example, "allocation-worker", GOLDEN_ALLOCATION)
    bad(findings, "DF118", [IMPORT])
    assert "deps: [admin-service]" in next(f.message for f in findings if f.code == "DF118")


def test_df118_runtime_import_not_copied(example: Path) -> None:
    copy = (
        "COPY --from=builder --chown=nodejs:nodejs /app/services/admin-service/dist/ "
        "services/admin-service/dist/\n"
    )
    findings = run(example, "allocation-worker", GOLDEN_ALLOCATION.replace(copy, ""))
    bad(findings, "DF118", [IMPORT])
    message = next(f.message for f in findings if f.code == "DF118")
    assert "/app/services/admin-service/dist/services/allocation.service" in message
    good(run(example, "allocation-worker", GOLDEN_ALLOCATION), "DF118")
    # The audited single-stage file copies and builds admin-service: the audit called it right.
    (example / ALLOCATION).write_text((REPO / "examples/kodingcaravan" / ALLOCATION).read_text())
    good(run(example, "allocation-worker"), "DF118")


# -- environment -----------------------------------------------------------------------
def test_df119_task_environment(example: Path) -> None:
    findings = run(example, "api-gateway")
    bad(findings, "DF119", [("dockerforge.yaml", 9), ("shared/src/index.ts", 23)])
    service = next(f for f in findings if f.code == "DF119" and f.service == "api-gateway")
    assert re.search(r"NODE_ENV=production, PORT=3000 and the secrets JWT_SECRET$", service.message)
    repository = next(f for f in findings if f.code == "DF119" and f.service is None)
    for name in (
        "NODE_ENV",
        "JWT_SECRET",
        "POSTGRES_URL",
        "POSTGRES_URI",
        "DATABASE_URL",
        "DEPLOY_ENV",
    ):
        assert name in repository.message
    # Once a service calls the check, the "nobody calls it" reminder goes; its needs move to
    # that service's task definition (and DF120 if the manifest lacks them).
    entry = example / "services/api-gateway/src/index.ts"
    entry.write_text(
        entry.read_text().replace(
            "startHttpService(", "validateRequiredEnvVars();\nstartHttpService("
        )
    )
    findings = run(example, "api-gateway")
    assert hits(findings, "DF119") == [("dockerforge.yaml", 9)]
    # No start-up check anywhere: nothing but the service's own environment to list.
    entry.write_text(entry.read_text().replace("validateRequiredEnvVars();\n", ""))
    shared = example / "shared/src/index.ts"
    shared.write_text(shared.read_text().replace("validateRequiredEnvVars", "describeEnv"))
    good([f for f in run(example, "api-gateway") if f.service is None], "DF119")


def test_df120_code_requires_undeclared_env(example: Path) -> None:
    for service in ("student-service", "student-auth-service"):
        entry = example / f"services/{service}/src/index.ts"
        text = entry.read_text().replace(
            "import { startHttpService }", "import { startHttpService, validateRequiredEnvVars }"
        )
        entry.write_text(
            text.replace("startHttpService(", "validateRequiredEnvVars();\nstartHttpService(")
        )
    findings = run(example, "student-service")
    where = ("services/student-service/src/index.ts", 3)
    bad(findings, "DF120", [where, where])  # JWT_SECRET, and one database URL
    messages = sorted(f.message for f in findings if f.code == "DF120")
    assert "JWT_SECRET" in messages[0] + messages[1]
    assert "one of POSTGRES_URL | POSTGRES_URI | DATABASE_URL (when DEPLOY_ENV is set)" in "".join(
        messages
    )
    # student-auth-service declares JWT_SECRET and DATABASE_URL.
    good(run(example, "student-auth-service"), "DF120")


def test_df121_missing_dockerfile(example: Path) -> None:
    good(run(example, "api-gateway"), "DF121")
    (example / API).unlink()
    bad(run(example, "api-gateway"), "DF121", [("dockerforge.yaml", 9)])


# -- the catalogue itself --------------------------------------------------------------
def test_every_rule_is_described() -> None:
    codes = [r.code for r in RULES]
    assert codes == sorted(set(codes)) and all(re.fullmatch(r"DF1\d\d", c) for c in codes)
    for current in RULES:
        assert current.title and current.why and current.bad and current.good
        assert current.severity in ("error", "warning", "info")
        assert current.fix.safety in ("safe", "review", "manual")
        assert current.fix.automatic == (current.fix.safety != "manual")


def test_every_rule_has_a_failing_and_a_passing_case() -> None:
    """Each rule has tests named after it that call both ``bad(...)`` and ``good(...)``."""
    module = sys.modules[__name__]
    sources: dict[str, str] = {}
    for name, function in vars(module).items():
        match = re.match(r"test_(df1\d\d)_", name)
        if match and callable(function):
            code = match.group(1).upper()
            sources[code] = sources.get(code, "") + inspect.getsource(function)
    for current in RULES:
        text = sources.get(current.code, "")
        assert re.search(rf'\bbad\(.*"{current.code}"', text), f"{current.code}: no failing case"
        assert re.search(rf'\bgood\(.*"{current.code}"', text), f"{current.code}: no passing case"


def test_readme_rules_table_is_generated_from_the_rules() -> None:
    readme = (REPO / "README.md").read_text()
    match = re.search(r"<!-- begin:rules -->\n(.*?)<!-- end:rules -->", readme, re.DOTALL)
    assert match, "README.md lacks the generated rules table (dockerforge rules --format markdown)"
    assert match.group(1) == markdown_table()
