"""Facts rules derive from a parsed Dockerfile: what is copied where, and what runs.

These follow COPY/ADD through stages (``COPY --from=builder /app/x/dist/ x/dist/``) closely
enough to answer the audit's questions (is a lockfile there when dependencies are installed?
is another package's build output in the runtime image?) without building anything.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from pathlib import Path

from dockerforge.dockerfile import Instruction, ParsedDockerfile, Stage, normalize_source

LOCKFILES = {
    "pnpm": ("pnpm-lock.yaml",),
    "npm": ("package-lock.json", "npm-shrinkwrap.json"),
    "yarn": ("yarn.lock",),
}
_GLOB = re.compile(r"[*?\[]")
_MAX_DEPTH = 16  # stages copying from stages; a Dockerfile cannot loop, this is a safety net


def leaves_context(source: str) -> bool:
    """True when a context source points outside the build context (absolute or ``..``)."""
    if source.startswith("/") or re.match(r"[A-Za-z]:[\\/]", source):
        return True
    return normalize_source(source).split("/")[0] == ".."


def _before(instruction: Instruction, until: Instruction | None) -> bool:
    return until is None or instruction.stage != until.stage or instruction.line < until.line


def image_copies(
    dockerfile: ParsedDockerfile, stage: Stage, until: Instruction | None = None
) -> list[Instruction]:
    """COPY/ADD instructions whose results are in ``stage`` (before ``until``, if given)."""
    return [
        instruction
        for current in dockerfile.ancestry(stage)
        for instruction in current.instructions
        if instruction.keyword in ("COPY", "ADD") and _before(instruction, until)
    ]


def context_copied(
    dockerfile: ParsedDockerfile,
    stage: Stage,
    relative: str,
    context: Path,
    until: Instruction | None = None,
) -> bool:
    """Is the repository file ``relative`` copied (from the build context) into ``stage``?"""
    for instruction in image_copies(dockerfile, stage, until):
        parts = instruction.copy_parts()
        if parts is None or instruction.flag("from") is not None:
            continue
        for source in parts[0]:
            if leaves_context(source):
                continue
            source = normalize_source(source)
            covers = source == "." or relative == source or relative.startswith(source + "/")
            matches = bool(_GLOB.search(source)) and fnmatch.fnmatchcase(relative, source)
            if (covers or matches) and (context / relative).exists():
                return True
    return False


def provides(
    dockerfile: ParsedDockerfile,
    stage: Stage,
    path: str,
    context: Path,
    *,
    built: bool = False,
    until: Instruction | None = None,
    depth: int = 0,
    visited: set[tuple[int, str]] | None = None,
) -> bool:
    """Does ``stage`` hold the absolute ``path`` (a file or a folder) through its COPYs?

    ``built``: also count a path that does not exist in the repository but lies inside a
    folder copied from it, since a build step in that stage can create it (``dist/``).
    """
    path = posixpath.normpath(path)
    visited = set() if visited is None else visited
    if depth > _MAX_DEPTH or (stage.index, path) in visited:
        return False  # asked already on this search: hostile files cannot make it explode
    visited.add((stage.index, path))
    for instruction in image_copies(dockerfile, stage, until):
        parts = instruction.copy_parts()
        if parts is None:
            continue
        sources, destination = parts
        target = posixpath.normpath(posixpath.join(dockerfile.workdir_at(instruction), destination))
        into_folder = destination.endswith("/") or len(sources) > 1
        if target.startswith(path.rstrip("/") + "/"):
            return True  # something was copied inside the folder asked about
        origin = instruction.flag("from")
        for source in sources:
            if origin is None:
                if _context_provides(context, source, target, into_folder, path, built):
                    return True
                continue
            source_stage = _stage(dockerfile, origin)
            if source_stage is None:
                continue  # an external image: nothing is known about its files
            for mapped in _mapped(posixpath.join("/", source), target, into_folder, path):
                if provides(
                    dockerfile,
                    source_stage,
                    mapped,
                    context,
                    built=built,
                    depth=depth + 1,
                    visited=visited,
                ):
                    return True
    return False


def _stage(dockerfile: ParsedDockerfile, name: str) -> Stage | None:
    found = dockerfile.stage_named(name)
    if found is None and name.isdigit() and int(name) < len(dockerfile.stages):
        found = dockerfile.stages[int(name)]
    return found


def _mapped(source: str, target: str, into_folder: bool, path: str) -> list[str]:
    """Where ``path`` in the destination comes from in the source, for a folder or a file."""
    if _GLOB.search(source):  # matches land in the destination folder under their own names
        folder, pattern = posixpath.split(source)
        name = posixpath.basename(path)
        if posixpath.dirname(path) == target.rstrip("/") and fnmatch.fnmatchcase(name, pattern):
            return [posixpath.join(folder, name)]
        return []
    found = []
    if path == target or path.startswith(target.rstrip("/") + "/"):
        found.append(posixpath.normpath(source + path[len(target) :]))
    file_target = posixpath.join(target, posixpath.basename(source)) if into_folder else target
    if path == file_target:
        found.append(source)
    return found


def _context_provides(
    context: Path, source: str, target: str, into_folder: bool, path: str, built: bool
) -> bool:
    if leaves_context(source):
        return False
    source = normalize_source(source)
    if _GLOB.search(source):
        folder = posixpath.dirname(source)
        base = context / folder if folder else context
        matches = sorted(p for p in base.glob(posixpath.basename(source)))
        return any(
            _context_provides(context, p.relative_to(context).as_posix(), target, True, path, built)
            for p in matches
        )
    local = context / source
    if local.is_dir():
        if path == target:
            return True
        if path.startswith(target.rstrip("/") + "/"):
            inside = posixpath.join(source, path[len(target.rstrip("/")) + 1 :])
            return (context / inside).exists() or built
        return False
    if local.is_file():
        file_target = posixpath.join(target, posixpath.basename(source)) if into_folder else target
        return path == file_target
    return False


def lockfile_present(
    dockerfile: ParsedDockerfile, install: Instruction, tool: str, context: Path
) -> bool:
    """Is a lockfile for ``tool`` in the install's folder (or above it) when it runs?"""
    stage = dockerfile.stages[install.stage]
    folder = dockerfile.workdir_at(install)
    while True:
        for name in LOCKFILES.get(tool, ()):
            if provides(dockerfile, stage, posixpath.join(folder, name), context, until=install):
                return True
        if folder == "/":
            return False
        folder = posixpath.dirname(folder)


def is_build_command(command: str) -> bool:
    """``pnpm --filter x build``, ``npm run build``, ``yarn build``, ``tsc``, ``turbo build``."""
    words = command.split()
    if not words:
        return False
    if words[0] == "npx" and len(words) > 1:
        words = words[1:]
    if words[0] == "tsc":
        return True
    return words[0] in ("npm", "pnpm", "yarn", "turbo", "nx") and "build" in words[1:]


_NODE_TAG = re.compile(r"(\d+)")
_NODEJS_NAME = re.compile(r"nodejs(\d+)")


def node_major(image: str) -> int | None:
    """The Node.js major version a base image names (``node:18-alpine`` -> 18), if it says."""
    last = image.split("@", 1)[0].rsplit("/", 1)[-1]
    name, _, tag = last.partition(":")
    if name == "node":
        match = _NODE_TAG.match(tag)
        return int(match.group(1)) if match else None
    match = _NODEJS_NAME.fullmatch(name.split("-", 1)[0])
    return int(match.group(1)) if match else None


def runs(stage: Stage) -> list[tuple[Instruction, str]]:
    """Every shell command of the stage's RUN instructions, with its instruction."""
    return [(i, command) for i in stage.all("RUN") for command in i.commands()]
