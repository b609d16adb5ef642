"""What the runtime image is made of and who runs it: DF105-DF107."""

from __future__ import annotations

from collections.abc import Iterator

from dockerforge.model import RUNTIME_UID, RUNTIME_USER
from dockerforge.rules.base import ERROR, Finding, Fix, Rule, ServiceTarget
from dockerforge.rules.facts import is_build_command, runs

RERENDER = "replaces the Dockerfile with the canonical multi-stage rendering"
ROOT_USERS = {"root", "0"}


class BuildInRuntimeImage(Rule):
    code = "DF105"
    title = "Single-stage build: the runtime image is also the build image"
    severity = ERROR
    why = (
        "When the image that runs the service also compiled it, it ships the TypeScript "
        "sources, every devDependency, the package manager and its cache: a larger image to "
        "pull on each ECS task start and more packages that can hold a vulnerability. A "
        "separate runtime stage copies only the build output and production dependencies."
    )
    bad = (
        "FROM node:18-alpine\nRUN pnpm install --frozen-lockfile\n"
        'RUN pnpm --filter @acme/api build\nCMD ["node", "dist/index.js"]'
    )
    good = (
        "FROM deps AS builder\nRUN pnpm --filter @acme/api build\n\n"
        "FROM node:18-alpine AS runtime\n"
        "COPY --from=builder /app/services/api/dist/ services/api/dist/"
    )
    fix = Fix(True, "review", RERENDER)

    def check(self, target: ServiceTarget) -> Iterator[Finding]:
        if target.dockerfile is None:
            return
        builds, dev_installs = [], []
        for stage in target.image_stages:
            for instruction, command in runs(stage):
                if is_build_command(command):
                    builds.append((instruction, command))
            for install in target.dockerfile.installs(stage):
                if not install.production and not install.global_install:
                    dev_installs.append((install.instruction, install.command))
        if not builds and not dev_installs:
            return
        first = min(builds + dev_installs, key=lambda item: item[0].line)[0]
        what = []
        if dev_installs:
            line, command = dev_installs[0][0].line, dev_installs[0][1]
            what.append(f"installs devDependencies (`{command}`, line {line})")
        if builds:
            line, command = builds[0][0].line, builds[0][1]
            what.append(f"runs the build (`{command}`, line {line})")
        shape = "single-stage build" if not target.dockerfile.is_multi_stage else "runtime stage"
        yield self.at(
            target,
            first,
            f"{shape}: the runtime image {' and '.join(what)}, so it ships sources, "
            "devDependencies and the package manager",
        )


class ToolchainInRuntime(Rule):
    code = "DF106"
    title = "Build toolchain in the runtime image"
    severity = ERROR
    why = (
        "python3, make and g++ are needed to compile native addons during the install, never "
        "to run the service. In the runtime image they add tens of megabytes and give anyone "
        "who gets a shell in the container a compiler."
    )
    bad = (
        "FROM node:18-alpine\nRUN apk add --no-cache python3 make g++\n...\n"
        'CMD ["node", "dist/index.js"]'
    )
    good = (
        "FROM node:18-alpine AS base\nRUN apk add --no-cache python3 make g++\n...\n"
        "FROM node:18-alpine AS runtime\nCOPY --from=prod-deps /app/ ./"
    )
    fix = Fix(True, "review", "moves the toolchain to the base/deps stages (canonical rendering)")

    def check(self, target: ServiceTarget) -> Iterator[Finding]:
        if target.dockerfile is None:
            return
        for stage in target.image_stages:
            for instruction in target.dockerfile.toolchain_installs(stage):
                inherited = (
                    ""
                    if stage is target.runtime
                    else f" (stage {stage.name or stage.index}, which the runtime stage builds on)"
                )
                yield self.at(
                    target,
                    instruction,
                    f"the build toolchain is installed into the runtime image{inherited}",
                )


class RunsAsRoot(Rule):
    code = "DF107"
    title = "The service runs as root"
    severity = ERROR
    why = (
        "A process running as root in the container turns any remote-code bug into root "
        "inside the task, with write access to everything in the image. The canonical image "
        f"creates `{RUNTIME_USER}` (uid {RUNTIME_UID}) and switches to it; `dockerforge ecs` "
        "also sets that uid in the task definition."
    )
    bad = 'FROM node:18-alpine\nWORKDIR /app/services/api\nCMD ["node", "dist/index.js"]'
    good = (
        f"RUN addgroup -S -g {RUNTIME_UID} {RUNTIME_USER} && adduser -S -D -H -u {RUNTIME_UID} "
        f'-G {RUNTIME_USER} {RUNTIME_USER}\nUSER {RUNTIME_USER}\nCMD ["node", "dist/index.js"]'
    )
    fix = Fix(True, "review", f"adds the {RUNTIME_USER} user (uid {RUNTIME_UID}) and USER")

    def check(self, target: ServiceTarget) -> Iterator[Finding]:
        if target.dockerfile is None:
            return
        user = target.dockerfile.user(target.runtime)
        if user is None:
            yield self.at(target, target.runtime, "no USER instruction: the service runs as root")
            return
        name = user.value.strip().split(":", 1)[0]
        if name in ROOT_USERS:
            yield self.at(target, user, f"`USER {user.value.strip()}`: the service runs as root")


class MissingDockerfile(Rule):
    code = "DF121"
    title = "Service without a Dockerfile"
    severity = ERROR
    why = (
        "A service the manifest declares has nothing to build its image from, so it cannot be "
        "deployed, and none of the other checks can look at it."
    )
    bad = "services/api/   # package.json and src/, no Dockerfile"
    good = "services/api/Dockerfile   # written by `dockerforge render api`"
    fix = Fix(True, "safe", "writes the canonical rendering")

    def check(self, target: ServiceTarget) -> Iterator[Finding]:
        if target.dockerfile is None:
            path, line = target.manifest_line
            yield self.finding(
                path,
                line,
                f"{target.dockerfile_path} does not exist (`dockerforge render {target.name}` "
                "writes it)",
                target.name,
            )


RULES: tuple[Rule, ...] = (
    BuildInRuntimeImage(),
    ToolchainInRuntime(),
    RunsAsRoot(),
    MissingDockerfile(),
)
