"""Regenerate golden/ and the example's canonical Dockerfiles from the current templates.

Run it only when a template change is intended, then read the diff it leaves (`git diff
golden examples`) before committing: that diff is what the change does to every user's
Dockerfiles. Tests never write these files; they only compare against them.

    python scripts/regenerate-golden.py
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from dockerforge.fsutil import write_atomic  # noqa: E402
from dockerforge.manifest import load_manifest  # noqa: E402
from dockerforge.model import Manifest  # noqa: E402
from dockerforge.render import environment, render_dockerfile, render_dockerignore  # noqa: E402

EXAMPLE = REPO / "examples" / "kodingcaravan"
MULTILIB = REPO / "tests" / "fixtures" / "multilib"
# One of each kind, the service with an extra workspace dep, in both distro families.
EXAMPLE_GOLDEN = ("api-gateway", "allocation-worker", "session-worker")
# The example's services whose committed Dockerfile is in its audited, non-canonical state.
AUDITED_BROKEN = (
    "notification-service",  # hand-edited: lockfile not frozen (derived below)
    "allocation-worker",  # single-stage pnpm, written by hand
    "session-worker",  # npm without a lockfile, written by hand
    "notification-worker",
    "purchase-worker",
    "cache-worker",
)
UNFROZEN_NOTE = (
    "# firebase-admin may need a lockfile update during the build, so it is not frozen here\n"
)


def debian(manifest: Manifest) -> Manifest:
    image = dataclasses.replace(manifest.image, node="node:18-bookworm-slim", family="debian")
    return dataclasses.replace(manifest, image=image)


def golden_set(manifest: Manifest, names: tuple[str, ...]) -> dict[str, str]:
    env = environment(manifest)
    files = {
        f"{name}.Dockerfile": render_dockerfile(manifest, manifest.service(name), env)
        for name in names
    }
    files["dockerignore"] = render_dockerignore(manifest, env)
    return files


def unfrozen(dockerfile: str) -> str:
    """The audit's notification-service: the canonical file with a plain `pnpm install`."""
    frozen = "RUN pnpm install --frozen-lockfile\n"
    assert dockerfile.count(frozen) == 1, "template changed: update unfrozen()"
    return dockerfile.replace(frozen, UNFROZEN_NOTE + "RUN pnpm install\n")


def main() -> None:
    example = load_manifest(EXAMPLE)
    multilib = load_manifest(MULTILIB)
    outputs = {
        "golden/kodingcaravan/alpine": golden_set(example, EXAMPLE_GOLDEN),
        "golden/kodingcaravan/debian": golden_set(debian(example), EXAMPLE_GOLDEN),
        "golden/multilib": golden_set(multilib, ("api", "jobs")),
    }
    changed = []
    for folder, files in outputs.items():
        for name, text in files.items():
            if write_atomic(REPO, f"{folder}/{name}", text):
                changed.append(f"{folder}/{name}")

    env = environment(example)
    prefix = EXAMPLE.relative_to(REPO).as_posix()
    for service in example.services:
        if service.name in AUDITED_BROKEN and service.name != "notification-service":
            continue
        text = render_dockerfile(example, service, env)
        if service.name == "notification-service":
            text = unfrozen(text)
        if write_atomic(REPO, f"{prefix}/{service.dockerfile}", text):
            changed.append(f"{prefix}/{service.dockerfile}")
    if write_atomic(REPO, f"{prefix}/.dockerignore", render_dockerignore(example, env)):
        changed.append(f"{prefix}/.dockerignore")

    print("\n".join(f"regenerated {path}" for path in changed) or "everything was up to date")


if __name__ == "__main__":
    main()
