"""`dockerforge ecs`: container definitions AWS accepts, matching the images.

Every fragment, wrapped in a minimal Fargate task definition, is validated against the
RegisterTaskDefinition input shape of botocore's bundled ECS service model with botocore's own
ParamValidator: offline, no AWS account. botocore does not check enum values, so the tests walk
the shape and check those too.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.model import Shape
from botocore.validate import ParamValidator

from dockerforge.dockerfile import parse_dockerfile
from dockerforge.ecs import shell_command
from dockerforge.manifest import load_manifest
from tests.conftest import EXAMPLE, GOLDEN, run_cli, snapshot

SESSION = botocore.session.get_session()
REGISTER = SESSION.get_service_model("ecs").operation_model("RegisterTaskDefinition").input_shape
MODIFY_TARGET_GROUP = (
    SESSION.get_service_model("elbv2").operation_model("ModifyTargetGroup").input_shape
)
ALL = [s.name for s in load_manifest(EXAMPLE).services]
CANONICAL_HTTP = [
    s.name
    for s in load_manifest(EXAMPLE).services
    if s.is_http and s.name != "notification-service"
]


def fragments(repo: Path, *args: str, cwd: Path | None = None) -> dict[str, Any]:
    command = ["ecs", *args] if cwd is not None else ["ecs", "--repo", repo, *args]
    result = run_cli(*command, cwd=cwd)
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


def enum_errors(value: Any, shape: Shape, path: str = "") -> list[str]:
    """Values outside an enum of the model (ParamValidator does not check enums)."""
    found = []
    if shape.type_name == "structure" and isinstance(value, dict):
        for key, item in value.items():
            if key in shape.members:
                found += enum_errors(item, shape.members[key], f"{path}.{key}")
    elif shape.type_name == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            found += enum_errors(item, shape.member, f"{path}[{index}]")
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            found += enum_errors(item, shape.value, f"{path}.{key}")
    elif getattr(shape, "enum", None) and value not in shape.enum:
        found.append(f"{path}: {value!r} not in {shape.enum}")
    return found


def validate_task_definition(container: dict[str, Any]) -> None:
    task = {
        "family": container["name"],
        "containerDefinitions": [container],
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
    }
    report = ParamValidator().validate(task, REGISTER)
    assert not report.has_errors(), report.generate_report()
    assert enum_errors(task, REGISTER) == []


def test_every_service_passes_botocore_validation(example: Path) -> None:
    data = fragments(example)
    assert sorted(data) == sorted(ALL) and len(data) == 17
    for name in ALL:
        (container,) = data[name]["containerDefinitions"]
        validate_task_definition(container)
        if "targetGroupHealthCheck" in data[name]:
            request = {
                "TargetGroupArn": "arn:aws:elasticloadbalancing:placeholder",
                **data[name]["targetGroupHealthCheck"],
            }
            report = ParamValidator().validate(request, MODIFY_TARGET_GROUP)
            assert not report.has_errors(), report.generate_report()
            assert enum_errors(request, MODIFY_TARGET_GROUP) == []


def test_validation_is_not_vacuous() -> None:
    """The validator rejects what AWS would reject: a wrong type and an unknown key."""
    task = {
        "family": "x",
        "containerDefinitions": [
            {"name": "x", "image": "i", "healthCheck": {"command": "CMD-SHELL"}, "color": 1}
        ],
    }
    report = ParamValidator().validate(task, REGISTER)
    assert report.has_errors()
    assert "color" in report.generate_report() and "healthCheck.command" in report.generate_report()
    bad_driver = {"logConfiguration": {"logDriver": "cloudwatch"}}
    assert enum_errors(bad_driver, REGISTER.members["containerDefinitions"].member)


def test_http_service_fragment(example: Path) -> None:
    manifest = load_manifest(example)
    data = fragments(example, "api-gateway", "student-auth-service")
    for name in ("api-gateway", "student-auth-service"):
        service = manifest.service(name)
        (container,) = data[name]["containerDefinitions"]
        assert container["name"] == name and container["essential"] is True
        assert container["user"] == "1001"
        assert container["image"].endswith(f"/kodingcaravan/{name}:${{IMAGE_TAG}}")
        assert container["portMappings"] == [{"containerPort": service.port, "protocol": "tcp"}]
        assert container["environment"] == [
            {"name": "NODE_ENV", "value": "production"},
            {"name": "PORT", "value": str(service.port)},
        ]
        assert [s["name"] for s in container["secrets"]] == list(service.env)
        assert all(
            s["valueFrom"].startswith("arn:aws:secretsmanager:") for s in container["secrets"]
        )
        assert container["logConfiguration"]["logDriver"] == "awslogs"
        assert container["logConfiguration"]["options"]["awslogs-stream-prefix"] == name
        target = data[name]["targetGroupHealthCheck"]
        assert target["HealthCheckPath"] == service.health == "/health"
        assert target["HealthCheckPort"] == str(service.port)
        assert target["Matcher"] == {"HttpCode": "200"}
    secrets = data["student-auth-service"]["containerDefinitions"][0]["secrets"]
    assert [s["name"] for s in secrets] == ["JWT_SECRET", "DATABASE_URL"]


def test_workers_have_no_health_check_and_no_ports(example: Path) -> None:
    data = fragments(example)
    for name in ("allocation-worker", "session-worker", "cache-worker"):
        (container,) = data[name]["containerDefinitions"]
        assert "healthCheck" not in container and "portMappings" not in container
        assert "targetGroupHealthCheck" not in data[name]
        assert container["environment"] == [{"name": "NODE_ENV", "value": "production"}]


@pytest.mark.parametrize("name", CANONICAL_HTTP)
def test_health_check_matches_the_image(example: Path, name: str) -> None:
    """Same probe, path, PORT and timings as the committed (canonical) Dockerfile."""
    (container,) = fragments(example, name)[name]["containerDefinitions"]
    parsed = parse_dockerfile(example / f"services/{name}/Dockerfile")
    probe = parsed.healthcheck(parsed.runtime)
    assert probe is not None
    check = container["healthCheck"]
    assert check["command"] == ["CMD-SHELL", shell_command(probe.command)]
    assert (check["interval"], check["timeout"], check["retries"], check["startPeriod"]) == (
        probe.interval,
        probe.timeout,
        probe.retries,
        probe.start_period,
    )
    assert "process.env.PORT" in check["command"][1] and "'/health'" in check["command"][1]
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert env["PORT"] == str(container["portMappings"][0]["containerPort"])


def test_health_check_follows_the_manifest(multilib: Path) -> None:
    data = fragments(multilib, "api")
    (container,) = data["api"]["containerDefinitions"]
    assert "'/healthz'" in container["healthCheck"]["command"][1]
    assert container["portMappings"] == [{"containerPort": 8080, "protocol": "tcp"}]
    assert data["api"]["targetGroupHealthCheck"]["HealthCheckPath"] == "/healthz"
    golden = parse_dockerfile(GOLDEN / "multilib/api.Dockerfile")
    probe = golden.healthcheck(golden.runtime)
    assert container["healthCheck"]["command"][1] == shell_command(probe.command)
    validate_task_definition(container)


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node on the host")
def test_cmd_shell_probe_runs_under_sh(example: Path) -> None:
    """The CMD-SHELL line is real shell: it passes on the right PORT and fails on another."""
    (container,) = fragments(example, "api-gateway")["api-gateway"]["containerDefinitions"]
    line = container["healthCheck"]["command"][1]
    server = HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        ok = subprocess.run(
            ["sh", "-c", line],
            env={"PORT": str(port), "PATH": "/usr/bin:/bin:/usr/local/bin"},
            timeout=20,
            check=False,
        )
        assert ok.returncode == 0
    finally:
        server.shutdown()
        server.server_close()
    closed = subprocess.run(
        ["sh", "-c", line],
        env={"PORT": str(port), "PATH": "/usr/bin:/bin:/usr/local/bin"},
        timeout=20,
        check=False,
    )
    assert closed.returncode == 1


def test_declared_start_up_check_adds_secrets(example: Path) -> None:
    entry = example / "services/student-service/src/index.ts"
    text = entry.read_text().replace(
        "import { startHttpService }", "import { startHttpService, validateRequiredEnvVars }"
    )
    entry.write_text(
        text.replace("startHttpService(", "validateRequiredEnvVars();\nstartHttpService(")
    )
    (container,) = fragments(example, "student-service")["student-service"]["containerDefinitions"]
    assert [s["name"] for s in container["secrets"]] == ["JWT_SECRET", "POSTGRES_URL"]
    validate_task_definition(container)


def test_out_writes_one_file_per_service_inside_the_repo(example: Path) -> None:
    result = run_cli("ecs", "--repo", example, "--out", example / "deploy/ecs")
    assert result.code == 0, result.stderr
    written = sorted(p.name for p in (example / "deploy/ecs").iterdir())
    assert written == sorted(
        [f"{n}.containers.json" for n in ALL]
        + [
            f"{n}.target-group.json"
            for n in ALL
            if n in CANONICAL_HTTP or n == "notification-service"
        ]
    )
    stdout = fragments(example)
    for name in ALL:
        on_disk = json.loads((example / f"deploy/ecs/{name}.containers.json").read_text())
        assert on_disk == stdout[name]["containerDefinitions"]
    again = run_cli("ecs", "--repo", example, "--out", example / "deploy/ecs")
    assert again.stdout.count("unchanged") == len(written)


def test_out_outside_the_repo_is_refused_and_writes_nothing(example: Path, tmp_path: Path) -> None:
    before = snapshot(tmp_path)
    result = run_cli("ecs", "--repo", example, "--out", tmp_path / "elsewhere")
    assert result.code == 2 and "inside the repository" in result.stderr
    assert snapshot(tmp_path) == before


def test_unknown_service_is_a_usage_error(example: Path) -> None:
    result = run_cli("ecs", "--repo", example, "api-gatway")
    assert result.code == 2 and "unknown service 'api-gatway'" in result.stderr


def test_without_a_manifest(example: Path) -> None:
    declared = fragments(example)
    (example / "dockerforge.yaml").unlink()
    inferred = fragments(example, cwd=example)
    assert sorted(inferred) == sorted(declared)
    for name in ALL:
        (container,) = inferred[name]["containerDefinitions"]
        validate_task_definition(container)
        expected = dict(declared[name]["containerDefinitions"][0])
        expected.pop("secrets", None)  # the manifest's env: cannot be inferred
        assert container == expected
