"""How the container starts: DF115."""

from __future__ import annotations

from collections.abc import Iterator

from dockerforge.dockerfile import Instruction
from dockerforge.rules.base import WARNING, Finding, Fix, Rule, ServiceTarget

SHELLS = {"sh", "/bin/sh", "bash", "/bin/bash", "ash", "/bin/ash"}
PACKAGE_MANAGERS = {"npm", "pnpm", "yarn", "npx"}


class FragileStart(Rule):
    code = "DF115"
    title = "Shell-form CMD or fragile entrypoint"
    severity = WARNING
    why = (
        "ECS stops a task with SIGTERM, then SIGKILL 30 seconds later. In shell form "
        "(`CMD node dist/index.js`), or behind `sh -c` or `npm start`, PID 1 is a shell or a "
        "package manager that does not pass SIGTERM on: the service never shuts down cleanly, "
        "every deploy waits out the timeout and in-flight requests are cut."
    )
    bad = "CMD npm start"
    good = 'CMD ["node", "dist/index.js"]'
    fix = Fix(True, "review", 'renders `CMD ["node", "<entrypoint>"]` from the manifest')

    def check(self, target: ServiceTarget) -> Iterator[Finding]:
        if target.dockerfile is None:
            return
        entrypoint = target.dockerfile.last_in_image(target.runtime, "ENTRYPOINT")
        command = target.dockerfile.last_in_image(target.runtime, "CMD")
        if entrypoint is not None:
            problem = _problem(entrypoint)
            if problem:
                yield self.at(target, entrypoint, problem)
        elif command is None:
            yield self.at(
                target,
                target.runtime,
                "no CMD: the container runs the base image's default (an interactive node "
                "prompt that exits at once)",
            )
        if command is not None:
            problem = _problem(command)
            if problem:
                yield self.at(target, command, problem)


def _problem(instruction: Instruction) -> str | None:
    keyword = instruction.keyword
    words = instruction.exec_form()
    if words is None:
        return (
            f"shell-form {keyword} `{instruction.value.strip()}`: /bin/sh is PID 1 and does not "
            'pass SIGTERM to node; use the exec form, e.g. ["node", "dist/index.js"]'
        )
    if not words:
        return f"empty {keyword}"
    if words[0] in SHELLS and "-c" in words[1:]:
        shell = " ".join(words[:2])
        return f"{keyword} runs `{shell}`: the shell is PID 1 and does not pass SIGTERM on"
    if words[0] in PACKAGE_MANAGERS:
        return (
            f"{keyword} starts `{' '.join(words)}`: the package manager is PID 1 between ECS "
            "and node; run node directly"
        )
    return None


RULES: tuple[Rule, ...] = (FragileStart(),)
