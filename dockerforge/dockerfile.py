"""A committed Dockerfile, parsed once (dockerfile-parse) into stages and instructions.

`fix`, `init` and the audit rules all read Dockerfiles through this module, so the facts they
rely on (which stage is the runtime, how dependencies are installed, what is copied, which
user runs the process) are worked out in one place.
"""

from __future__ import annotations

import io
import json
import posixpath
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from dockerfile_parse import DockerfileParser

from dockerforge.errors import Location, UserError
from dockerforge.yamlfile import read_text

MAX_DOCKERFILE_BYTES = 1_000_000
SUPPRESSION = re.compile(r"#\s*dockerforge:\s*ignore=([A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*)\s*(.*)")
TOOLCHAIN_PACKAGES = {"python3", "python", "make", "g++", "gcc", "build-base", "build-essential"}


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case, e.g. "RUN"
    value: str  # arguments, continuation lines joined
    line: int  # 1-based first line
    end_line: int  # 1-based last line
    stage: int  # index of the stage it belongs to (-1 before the first FROM)
    text: str  # as written

    def flag(self, name: str) -> str | None:
        """The value of a leading ``--name=value`` flag (COPY --from, --chown, ...)."""
        for word in self.value.split():
            if not word.startswith("--"):
                break
            key, _, value = word[2:].partition("=")
            if key == name:
                return value
        return None

    def words(self) -> list[str]:
        """The arguments split as a shell would (plain whitespace when quoting is broken)."""
        return _split(self.value)

    @property
    def arguments(self) -> list[str]:
        """The words after the leading ``--flags``, for COPY/ADD and similar."""
        words = self.words()
        while words and words[0].startswith("--"):
            words.pop(0)
        return words

    def copy_parts(self) -> tuple[list[str], str] | None:
        """The sources and destination of a COPY/ADD (shell or JSON form)."""
        words = self.arguments
        if words and words[0].startswith("["):
            try:
                parsed = json.loads(self.value[self.value.index("[") :])
            except (ValueError, json.JSONDecodeError):
                return None
            words = [w for w in parsed if isinstance(w, str)]
        if len(words) < 2:
            return None
        return words[:-1], words[-1]

    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form CMD/ENTRYPOINT/RUN, or None for shell form."""
        text = self.value.strip()
        if not text.startswith("["):
            return None
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            return None
        return (
            parsed if isinstance(parsed, list) and all(isinstance(x, str) for x in parsed) else None
        )

    def commands(self) -> list[str]:
        """A RUN's shell commands, split on ``&&``, ``||``, ``;`` and ``|``."""
        form = self.exec_form()
        if form is not None:
            return [" ".join(form)]
        parts = re.split(r"&&|\|\||;|\|", self.value)
        return [" ".join(p.split()) for p in parts if p.strip()]

    def location(self, path: Path) -> Location:
        return Location(path, self.line)


@dataclass(frozen=True)
class Stage:
    index: int
    base: str  # the FROM image (or stage name)
    name: str | None  # the AS name
    line: int
    instructions: tuple[Instruction, ...] = field(default=())

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None


@dataclass(frozen=True)
class Install:
    """A dependency install found in a RUN instruction."""

    instruction: Instruction
    tool: str  # "npm", "pnpm" or "yarn"
    command: str
    frozen: bool  # honours the lockfile exactly (npm ci, --frozen-lockfile, --immutable)
    production: bool  # installs production dependencies only
    global_install: bool  # npm install -g something (a tool, not the app's dependencies)


@dataclass(frozen=True)
class HealthCheck:
    """A HEALTHCHECK instruction: its timings (seconds, Docker's defaults when unset)."""

    instruction: Instruction
    disabled: bool  # HEALTHCHECK NONE
    interval: int
    timeout: int
    start_period: int
    retries: int
    command: list[str] | str | None  # exec form (list), shell form (str), None when disabled

    @property
    def text(self) -> str:
        """The probe as one string, to search for the port and path it uses."""
        return " ".join(self.command) if isinstance(self.command, list) else self.command or ""


@dataclass(frozen=True)
class ParsedDockerfile:
    path: Path
    text: str
    stages: tuple[Stage, ...]
    comments: tuple[tuple[int, str], ...]  # (1-based line, text without the '#')

    @property
    def runtime(self) -> Stage:
        """The stage the image runs: the last one."""
        return self.stages[-1]

    @property
    def is_multi_stage(self) -> bool:
        return len(self.stages) > 1

    def instructions(self) -> Iterator[Instruction]:
        for stage in self.stages:
            yield from stage.instructions

    def stage_named(self, name: str) -> Stage | None:
        return next((s for s in self.stages if s.name == name), None)

    def lineage(self, stage: Stage) -> list[Stage]:
        """The stage and the stages it is built FROM, runtime first."""
        chain = [stage]
        while True:
            parent = self.stage_named(chain[-1].base)
            if parent is None or parent in chain:
                return chain
            chain.append(parent)

    def installs(self, stage: Stage | None = None) -> list[Install]:
        found = []
        stages = [stage] if stage is not None else list(self.stages)
        for current in stages:
            for instruction in current.all("RUN"):
                for command in instruction.commands():
                    install = _install(instruction, command)
                    if install is not None:
                        found.append(install)
        return found

    def toolchain_installs(self, stage: Stage) -> list[Instruction]:
        """RUN instructions of ``stage`` that install a compiler toolchain."""
        found = []
        for instruction in stage.all("RUN"):
            for command in instruction.commands():
                words = command.split()
                if (
                    len(words) > 2
                    and (words[:2] == ["apk", "add"] or words[:2] == ["apt-get", "install"])
                    and TOOLCHAIN_PACKAGES & set(words)
                ):
                    found.append(instruction)
                    break
        return found

    def ancestry(self, stage: Stage) -> list[Stage]:
        """``lineage`` in build order: the first ancestor first, ``stage`` last."""
        return list(reversed(self.lineage(stage)))

    def workdir_at(self, instruction: Instruction) -> str:
        """The WORKDIR in effect for ``instruction`` (``/`` when none was set)."""
        workdir = "/"
        for stage in self.ancestry(self.stages[instruction.stage]):
            for current in stage.instructions:
                if current is instruction:
                    return workdir
                if current.keyword == "WORKDIR" and current.value.strip():
                    workdir = posixpath.normpath(posixpath.join(workdir, current.value.strip()))
        return workdir

    def user(self, stage: Stage) -> Instruction | None:
        """The USER instruction the stage runs as (inherited from its ancestors), if any."""
        found = None
        for current in self.ancestry(stage):
            found = current.last("USER") or found
        return found

    def last_in_image(self, stage: Stage, keyword: str) -> Instruction | None:
        """The instruction that is in force for ``stage`` (CMD, ENTRYPOINT, HEALTHCHECK...)."""
        found = None
        for current in self.ancestry(stage):
            found = current.last(keyword) or found
        return found

    def healthcheck(self, stage: Stage) -> HealthCheck | None:
        instruction = self.last_in_image(stage, "HEALTHCHECK")
        return None if instruction is None else _healthcheck(instruction, self.path)

    def suppressed(self, line: int) -> dict[str, str]:
        """Codes suppressed for the instruction on ``line``: ``{code: reason}``.

        A ``# dockerforge: ignore=DF101 reason`` comment applies to the instruction that
        follows it (other comments may sit in between).
        """
        codes: dict[str, str] = {}
        previous = line - 1
        comment_lines = dict(self.comments)
        while previous in comment_lines:
            match = SUPPRESSION.fullmatch("#" + comment_lines[previous])
            if match:
                for code in match.group(1).split(","):
                    codes[code.strip()] = match.group(2).strip()
            previous -= 1
        return codes


def parse_dockerfile(path: Path, text: str | None = None) -> ParsedDockerfile:
    """Parse a Dockerfile, or explain with ``file:line`` why it is not one."""
    if text is None:
        text = read_dockerfile(path)
    parser = DockerfileParser(fileobj=io.BytesIO(text.encode("utf-8")), env_replace=False)
    try:
        structure = parser.structure
    except Exception as exc:  # dockerfile-parse raises plain exceptions on odd input
        raise UserError(f"cannot parse Dockerfile: {exc}", Location(path)) from None
    stages: list[Stage] = []
    pending: list[Instruction] = []
    comments: list[tuple[int, str]] = []
    for item in structure:
        keyword = str(item["instruction"]).upper()
        line = int(item["startline"]) + 1
        if keyword == "COMMENT":
            comments.append((line, str(item["content"]).strip()[1:]))
            continue
        instruction = Instruction(
            keyword=keyword,
            value=str(item["value"]),
            line=line,
            end_line=int(item["endline"]) + 1,
            stage=len(stages) - 1,
            text=str(item["content"]),
        )
        if keyword == "FROM":
            if stages:
                stages[-1] = _with(stages[-1], pending)
            pending = []
            words = [w for w in instruction.value.split() if not w.startswith("--")]
            if not words:
                raise UserError("FROM without an image", instruction.location(path))
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(index=len(stages), base=words[0], name=name, line=line))
            instruction = replace(instruction, stage=len(stages) - 1)
        elif not stages and keyword not in ("ARG",):
            raise UserError(
                f"{keyword} before the first FROM (not a Dockerfile?)", instruction.location(path)
            )
        pending.append(instruction)
    if not stages:
        raise UserError("no FROM instruction: not a Dockerfile", Location(path, 1))
    stages[-1] = _with(stages[-1], pending)
    return ParsedDockerfile(path=path, text=text, stages=tuple(stages), comments=tuple(comments))


def read_dockerfile(path: Path) -> str:
    return read_text(path, limit=MAX_DOCKERFILE_BYTES)


def normalize_source(source: str) -> str:
    """A build-context source as a repository-relative POSIX path (``.`` for the root)."""
    return posixpath.normpath(source.removeprefix("./") or ".")


def image_name(image: str) -> str:
    """The repository part of an image reference: ``node`` for ``docker.io/node:18@sha...``."""
    return image.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0]


def is_node_image(image: str) -> bool:
    return "node" in image_name(image)


def _with(stage: Stage, instructions: list[Instruction]) -> Stage:
    return Stage(stage.index, stage.base, stage.name, stage.line, tuple(instructions))


def _split(value: str) -> list[str]:
    try:
        return shlex.split(value)
    except ValueError:
        return value.split()


_NPM_INSTALL = {"install", "i", "ci", "add"}


def _install(instruction: Instruction, command: str) -> Install | None:
    words = command.split()
    if len(words) < 2 or words[0] not in ("npm", "pnpm", "yarn"):
        return None
    tool = words[0]
    verb = next((w for w in words[1:] if not w.startswith("-")), None)
    if tool == "yarn" and verb is None:
        verb = "install"  # bare `yarn` installs
    if verb not in _NPM_INSTALL:
        return None
    flags = set(words[1:])
    global_install = bool(flags & {"-g", "--global"})
    if tool == "npm":
        frozen = verb == "ci"
        production = bool(flags & {"--production", "--omit=dev", "--only=production"})
    elif tool == "pnpm":
        frozen = "--frozen-lockfile" in flags
        production = bool(flags & {"--prod", "-P", "--production"})
    else:
        frozen = bool(flags & {"--frozen-lockfile", "--immutable"})
        production = "--production" in flags
    return Install(instruction, tool, command, frozen, production, global_install)


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|us|ns|h|m|s)")
_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6, "ns": 1e-9}
_HEALTH_OPTIONS = re.compile(r"((?:--[a-z-]+=\S+\s+)*)(.*)", re.DOTALL)


def _duration(text: str, where: Location) -> int:
    """A Go duration (``30s``, ``1m30s``) in whole seconds, or a clear error."""
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise UserError(f"HEALTHCHECK: {text!r} is not a duration such as 30s", where)
    return round(sum(float(n) * _SECONDS[u] for n, u in parts))


def _healthcheck(instruction: Instruction, path: Path) -> HealthCheck:
    where = instruction.location(path)
    match = _HEALTH_OPTIONS.fullmatch(instruction.value.strip())
    assert match is not None  # the pattern matches any text
    timings = {"interval": 30, "timeout": 30, "start-period": 0, "retries": 3}  # Docker's
    for option in match.group(1).split():
        key, _, value = option[2:].partition("=")
        if key == "retries":
            if not value.isdigit():
                raise UserError(f"HEALTHCHECK: --retries={value} is not a number", where)
            timings[key] = int(value)
        elif key in timings:
            timings[key] = _duration(value, where)
    body = match.group(2).strip()
    keyword, _, probe = body.partition(" ")
    disabled = keyword.upper() == "NONE"
    command: list[str] | str | None = None
    if keyword.upper() == "CMD":
        probe = probe.strip()
        form = replace(instruction, value=probe).exec_form()
        command = form if form is not None else probe
    return HealthCheck(
        instruction=instruction,
        disabled=disabled,
        interval=timings["interval"],
        timeout=timings["timeout"],
        start_period=timings["start-period"],
        retries=timings["retries"],
        command=command,
    )
