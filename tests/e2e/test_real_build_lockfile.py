"""Issue 5, point 4: the frozen lockfile is real. A package.json changed without updating
pnpm-lock.yaml makes the build fail at the dependency install, naming the lockfile."""

from __future__ import annotations

import json
import shutil

import pytest

pytestmark = pytest.mark.e2e

SERVICE = "api-gateway"


def test_package_json_changed_without_lockfile_fails_at_frozen_install(engine, example, tmp_path):
    root = tmp_path / "kodingcaravan"
    shutil.copytree(example.root, root)
    package_json = root / "services" / SERVICE / "package.json"
    package = json.loads(package_json.read_text())
    package["dependencies"]["left-pad"] = "1.3.0"  # not in pnpm-lock.yaml
    package_json.write_text(json.dumps(package, indent=2) + "\n")

    build = engine.build(root, f"services/{SERVICE}/Dockerfile")

    assert not build.ok, "the build succeeded with a package.json the lockfile does not match"
    failed = build.failed_steps()
    assert [(s.stage, s.instruction) for s in failed] == [
        ("deps", "RUN pnpm install --frozen-lockfile")
    ], build.tail()
    log = "\n".join(failed[0].log)
    assert "ERR_PNPM_OUTDATED_LOCKFILE" in log, log
    assert "pnpm-lock.yaml is not up to date" in log, log
    assert f"services/{SERVICE}/package.json" in log, log
