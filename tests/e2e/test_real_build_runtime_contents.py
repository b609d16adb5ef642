"""Issue 5, point 5: a runtime image holds no devDependencies (no typescript), no build
toolchain (g++, make, python3), no TypeScript sources and neither the pnpm store nor pnpm.

Type declarations (`.d.ts`) that published packages ship, such as dotenv's, are fine: they are
not sources and nothing runs them. `node_modules/.pnpm` is pnpm's node_modules layout (how
Node finds the production dependencies), not the store: the store is the download cache that
pnpm keeps under the installing user's home (/root/.local/share/pnpm/store) or `.pnpm-store`.

The same probe, run on the `builder` stage, must find every one of those things (a control:
the assertions below can fail)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.e2e

SERVICES = ("api-gateway", "session-worker", "allocation-worker")
TOOLS = ("g++", "gcc", "cc", "make", "python3", "pnpm", "tsc")
TS_SOURCE = (".ts", ".tsx", ".mts", ".cts")
TS_DECLARATION = (".d.ts", ".d.mts", ".d.cts")

PROBE = """
echo '## files'
find /app -print
echo '## tools'
for tool in %s; do command -v "$tool" || true; done
echo '## pnpm-store'
find / -xdev \\( -name .pnpm-store -o -path '*/pnpm/store' \\) -print 2>/dev/null
""" % " ".join(TOOLS)  # noqa: UP031


def probe(engine, image: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current: list[str] = []
    for line in engine.probe(image, PROBE).splitlines():
        if line.startswith("## "):
            current = sections.setdefault(line[3:], [])
        elif line:
            current.append(line)
    assert set(sections) == {"files", "tools", "pnpm-store"}, sections.keys()
    return sections


def dev_dependencies(root) -> set[str]:
    """Every devDependency named by the workspace's package.json files."""
    names: set[str] = set()
    for package_json in [root / "package.json", *root.glob("*/package.json"),
                         *root.glob("services/*/package.json")]:  # fmt: skip
        names |= set(json.loads(package_json.read_text()).get("devDependencies", {}))
    return names


def findings(sections: dict[str, list[str]], dev: set[str]) -> dict[str, list[str]]:
    files = sections["files"]
    installed = []
    for path in files:
        parts = path.split("/")
        for name in dev:
            scoped = name.count("/") + 1
            # /node_modules/<name> (a link or a folder) or .pnpm/<name with + for />@<version>
            in_node_modules = any(
                parts[i] == "node_modules" and "/".join(parts[i + 1 : i + 1 + scoped]) == name
                for i in range(len(parts))
            )
            in_virtual_store = any(p.startswith(name.replace("/", "+") + "@") for p in parts)
            if in_node_modules or in_virtual_store:
                installed.append(path)
    return {
        "devDependencies": sorted(set(installed)),
        "typescript": [p for p in files if "typescript" in p.split("/")],
        "sources": [p for p in files if p.endswith(TS_SOURCE) and not p.endswith(TS_DECLARATION)],
        "tools": sections["tools"],
        "pnpm store": sections["pnpm-store"],
    }


@pytest.mark.parametrize("service", SERVICES)
def test_runtime_image_has_no_dev_dependencies_toolchain_sources_or_pnpm(
    engine, images, example, service
):
    found = findings(probe(engine, images.get(service)), dev_dependencies(example.root))
    assert found == {key: [] for key in found}


def test_probe_finds_all_of_them_in_the_builder_stage(engine, images, example):
    found = findings(
        probe(engine, images.get("allocation-worker", target="builder")),
        dev_dependencies(example.root),
    )
    assert {"typescript", "@types/node", "@types/ms"} <= {
        name
        for name in dev_dependencies(example.root)
        if any(f"/node_modules/{name}" in path for path in found["devDependencies"])
    }
    assert found["typescript"]
    assert "/app/services/admin-service/src/index.ts" in found["sources"]
    assert {tool.rsplit("/", 1)[1] for tool in found["tools"]} >= {"g++", "make", "python3", "pnpm"}
    assert found["pnpm store"]
