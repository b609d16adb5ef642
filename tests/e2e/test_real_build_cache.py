"""Issue 5, point 6: a source-only change rebuilds with the dependency install cached.

BuildKit's plain progress output says, step by step, which layers came from the cache: after
an edit to one .ts file, both installs (`deps` and `prod-deps`) must say CACHED while the build
step runs again, and the new image must run the changed code."""

from __future__ import annotations

import shutil
import uuid

import pytest

pytestmark = pytest.mark.e2e

WORKER = "session-worker"


def test_source_only_change_rebuilds_with_install_cached(engine, images, example, tmp_path):
    images.get(WORKER)  # the unchanged image is in the build cache
    root = tmp_path / "kodingcaravan"
    shutil.copytree(example.root, root)
    # A new line every run: an edit the cache has never seen, so the build step must rerun.
    nonce = uuid.uuid4().hex
    source = root / "services" / WORKER / "src" / "index.ts"
    source.write_text(source.read_text() + f"console.log('SOURCE_CHANGE nonce={nonce}');\n")

    build = engine.build(root, f"services/{WORKER}/Dockerfile", engine.tag(f"{WORKER}-changed"))

    assert build.ok, build.tail()
    assert build.step("deps", "RUN pnpm install --frozen-lockfile").cached, build.tail()
    prod_install = [s for s in build.steps if s.stage == "prod-deps" and s.name.startswith("[")]
    assert prod_install, build.tail()
    assert all(step.cached for step in prod_install), build.tail()
    rebuilt = [s for s in build.steps if s.stage == "builder" and "pnpm --filter" in s.instruction]
    assert len(rebuilt) == 1, [s.name for s in build.steps]
    assert not rebuilt[0].cached and rebuilt[0].done, build.tail()

    container = engine.run(build.tag, f"{WORKER}-changed", network="none")
    container.wait_for(rf"^SOURCE_CHANGE nonce={nonce}$")
    container.stop()
