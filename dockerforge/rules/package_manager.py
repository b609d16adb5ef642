"""Package manager and lockfile: DF101-DF104."""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Iterator

from dockerforge.dockerfile import normalize_source
from dockerforge.rules.base import ERROR, WARNING, Finding, Fix, Rule, ServiceTarget
from dockerforge.rules.facts import (
    LOCKFILES,
    leaves_context,
    lockfile_present,
)

COPY_PNPM = "COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./"
RERENDER = "replaces the Dockerfile with its canonical rendering (pnpm, frozen lockfile)"


class NpmInPnpmRepo(Rule):
    code = "DF101"
    title = "npm used in a pnpm monorepo"
    severity = ERROR
    why = (
        "The monorepo's dependency versions live in pnpm-lock.yaml. npm (or yarn) ignores that "
        "lockfile, resolves every range again at build time, hoists differently from pnpm and "
        "cannot install `workspace:` dependencies at all, so the image holds other versions "
        "than the ones tested, or the build fails."
    )
    bad = "COPY package*.json ./\nRUN npm install --legacy-peer-deps"
    good = f"{COPY_PNPM}\nRUN pnpm install --frozen-lockfile"
    fix = Fix(True, "review", RERENDER)

    def check(self, target: ServiceTarget) -> Iterator[Finding]:
        if target.dockerfile is None or not target.repo.is_pnpm:
            return
        seen: set[int] = set()
        for install in target.dockerfile.installs():
            line = install.instruction.line
            if install.tool == "pnpm" or install.global_install or line in seen:
                continue
            seen.add(line)
            yield self.at(
                target,
                install.instruction,
                f"`{install.command}` in a pnpm monorepo: it ignores pnpm-lock.yaml and "
                "re-resolves every dependency",
            )


class CopyWithoutLockfile(Rule):
    code = "DF102"
    title = "COPY package*.json where the repository has no package-lock.json"
    severity = ERROR
    why = (
        "`COPY package*.json ./` is written for an npm project whose package-lock.json sits "
        "beside package.json. Without one, only package.json is copied, the glob hides that "
        "the lockfile is missing, and the install that follows resolves versions afresh."
    )
    bad = "COPY package*.json ./"
    good = "COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./"
    fix = Fix(True, "review", RERENDER)

    def check(self, target: ServiceTarget) -> Iterator[Finding]:
        if target.dockerfile is None:
            return
        root = target.repo.root
        for instruction in target.dockerfile.instructions():
            if instruction.keyword not in ("COPY", "ADD") or instruction.flag("from"):
                continue
            parts = instruction.copy_parts()
            for source in parts[0] if parts else ():
                if leaves_context(source):
                    continue
                source = normalize_source(source)
                folder, pattern = posixpath.split(source)
                expects = [name for name in LOCKFILES["npm"] if fnmatch.fnmatchcase(name, pattern)]
                if not expects or any((root / folder / name).is_file() for name in expects):
                    continue
                where = f"{folder}/" if folder else "the repository root"
                yield self.at(
                    target,
                    instruction,
                    f"`{source}` matches no package-lock.json: {where} has none, so only "
                    "package.json is copied and the install has no lockfile",
                )


class UnfrozenInstall(Rule):
    code = "DF103"
    title = "Lockfile copied but the install is not frozen"
    severity = WARNING
    why = (
        "Without --frozen-lockfile (pnpm, yarn) or `npm ci`, an install whose lockfile does not "
        "match package.json quietly updates it inside the build, so the image can run versions "
        "nobody tested locally or in CI. Frozen, the build fails instead and says why."
    )
    bad = "COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./\nRUN pnpm install"
    good = f"{COPY_PNPM}\nRUN pnpm install --frozen-lockfile"
    fix = Fix(True, "safe", "adds --frozen-lockfile (the canonical deps stage)")

    def check(self, target: ServiceTarget) -> Iterator[Finding]:
        dockerfile = target.dockerfile
        if dockerfile is None:
            return
        for install in dockerfile.installs():
            if install.frozen or install.global_install:
                continue
            if not lockfile_present(
                dockerfile, install.instruction, install.tool, target.repo.root
            ):
                continue  # DF104's case
            frozen = (
                "npm ci" if install.tool == "npm" else f"{install.tool} install --frozen-lockfile"
            )
            yield self.at(
                target,
                install.instruction,
                f"`{install.command}` may rewrite the copied lockfile during the build; use "
                f"`{frozen}`",
            )


class InstallWithoutLockfile(Rule):
    code = "DF104"
    title = "Dependencies installed without a lockfile (versions drift at build time)"
    severity = ERROR
    why = (
        "An install with no lockfile in reach (often `npm install` in the runtime stage after "
        "copying only package.json) resolves every semver range on the day of the build. Two "
        "builds of the same commit can ship different dependency versions; a bad release "
        "upstream reaches production without a code change."
    )
    bad = "COPY --from=builder /app/package.json ./\nRUN npm install --omit=dev"
    good = (
        "FROM deps AS prod-deps\nRUN pnpm install --frozen-lockfile --prod --offline\n"
        "# runtime: COPY --from=prod-deps /app/ ./"
    )
    fix = Fix(True, "review", RERENDER)

    def check(self, target: ServiceTarget) -> Iterator[Finding]:
        dockerfile = target.dockerfile
        if dockerfile is None:
            return
        for install in dockerfile.installs():
            if install.global_install:
                continue
            if lockfile_present(dockerfile, install.instruction, install.tool, target.repo.root):
                continue
            where = dockerfile.workdir_at(install.instruction)
            names = " or ".join(LOCKFILES.get(install.tool, ("a lockfile",)))
            yield self.at(
                target,
                install.instruction,
                f"`{install.command}` runs with no {names} in {where}: versions are resolved "
                "at build time and drift between builds",
            )


RULES: tuple[Rule, ...] = (
    NpmInPnpmRepo(),
    CopyWithoutLockfile(),
    UnfrozenInstall(),
    InstallWithoutLockfile(),
)
