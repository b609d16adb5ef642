"""Issue 4's acceptance, proven here: a service scaffolded with
`dockerforge new billing-service --kind http --port <free> --yes --install` on a copy of the
example builds into an image whose /health answers 200 on its port."""

from __future__ import annotations

import shutil

import pytest

pytestmark = pytest.mark.e2e

SERVICE = "billing-service"


def test_new_http_service_builds_and_answers_health(
    engine, run_dockerforge, example_copy, free_port, tmp_path
):
    if run_dockerforge(tmp_path, "new", "--help").returncode != 0:
        pytest.skip("`dockerforge new` does not exist yet (issue 4)")
    if shutil.which("pnpm") is None:
        pytest.skip("`dockerforge new --install` needs pnpm on PATH (.ci/run installs it)")
    root = example_copy(tmp_path)
    port = free_port()
    new = run_dockerforge(
        root, "new", SERVICE, "--kind", "http", "--port", str(port), "--yes", "--install",
        timeout=600,
    )  # fmt: skip
    assert new.returncode == 0, f"{new.stdout}{new.stderr}"
    lockfile = (root / "pnpm-lock.yaml").read_text()
    assert f"services/{SERVICE}:" in lockfile, "--install did not add the service to the lockfile"

    build = engine.build(root, f"services/{SERVICE}/Dockerfile", engine.tag(SERVICE))
    assert build.ok, build.tail()

    container = engine.run(build.tag, SERVICE, network="host", env={"PORT": str(port)})
    status, body = container.get(port, "/health")
    assert status == 200, body
    exit_code, _ = container.stop()
    assert exit_code == 0, container.logs()
