"""``dockerforge fix``: turn each non-canonical file into its rendering, with reasons.

Three steps, three functions: :func:`plan_fixes` detects (through
:func:`dockerforge.classify.classify`), :func:`explain` says why in the user's words and
shows the diff, :func:`apply_fixes` writes. Everything is planned before anything is
written, so an unreadable file or a symlink out of the repository writes nothing.

A file that holds instructions the rendering would drop (an extra ENV, a system package, a
copied asset, a different CMD or port) "needs review": it is left untouched unless
``force`` is set.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dockerforge.classify import Classification, classify
from dockerforge.commands.check import FileCheck, check
from dockerforge.diffs import colourize
from dockerforge.fsutil import write_files
from dockerforge.model import Manifest

APPLY, SKIP, DIFF, QUIT = "apply", "skip", "diff", "quit"

# Asks what to do with one file: APPLY, SKIP, DIFF or QUIT; None when the user aborts.
Chooser = Callable[["FilePlan"], "str | None"]
Echo = Callable[[str], None]


@dataclass(frozen=True)
class FilePlan:
    """One file that differs from its rendering, and what kind of file it is."""

    file: FileCheck
    classification: Classification

    @property
    def path(self) -> str:
        return self.file.path

    @property
    def service(self) -> str | None:
        return self.file.rendered.service

    @property
    def text(self) -> str:
        return self.file.rendered.text

    def blocked(self, force: bool) -> bool:
        """True when the file needs review and ``force`` does not override that."""
        return bool(self.classification.needs_review) and not force

    def diff(self) -> str:
        return self.file.diff()


@dataclass(frozen=True)
class FixOutcome:
    plans: tuple[FilePlan, ...]
    written: tuple[str, ...] = ()
    aborted: bool = False
    skipped: tuple[str, ...] = field(default=())

    @property
    def pending(self) -> bool:
        """Something still differs from its rendering after this run."""
        return len(self.written) < len(self.plans)


# -- detection ---------------------------------------------------------------------------
def plan_fixes(manifest: Manifest, names: list[str] | None) -> list[FilePlan]:
    """Every selected file that differs from its rendering, classified."""
    plans = []
    for file in check(manifest, names):
        if not file.drifted:
            continue
        name = file.rendered.service
        service = manifest.service(name) if name is not None else None
        found = classify(manifest, file.path, file.committed, file.rendered.text, service)
        plans.append(FilePlan(file, found))
    return plans


# -- explanation -------------------------------------------------------------------------
def explain(plan: FilePlan, *, force: bool, colour: bool, diff: bool = True) -> str:
    """The reason lines for one file, what needs review, then (optionally) its diff."""
    found = plan.classification
    lines = [f"{plan.path}: {found.kind}"]
    lines += [f"  {reason}" for reason in found.reasons]
    lines += [f"  needs review: {item}" for item in found.needs_review]
    if found.needs_review:
        lines.append(
            "  replaced anyway (--force)"
            if force
            else "  left untouched: review the lines above, then rerun with --force"
        )
    text = "\n".join(lines) + "\n"
    if diff:
        patch = plan.diff()
        text += colourize(patch) if colour else patch
    return text


def summary(outcome: FixOutcome, *, force: bool, dry_run: bool) -> str:
    plans = outcome.plans
    blocked = [p for p in plans if p.blocked(force)]
    if dry_run:
        changing = len(plans) - len(blocked)
        them = "it" if changing == 1 else "them"
        text = f"{_files(changing)} would change (`dockerforge fix --write` applies {them})"
    else:
        text = f"{_files(len(outcome.written))} fixed"
        if outcome.skipped:
            text += f", {len(outcome.skipped)} skipped"
    if blocked:
        verbs = "needs review and stays" if len(blocked) == 1 else "need review and stay"
        text += f"; {_files(len(blocked))} {verbs} untouched without --force"
    return text


def _files(count: int) -> str:
    return f"{count} file" if count == 1 else f"{count} files"


# -- change ------------------------------------------------------------------------------
def apply_fixes(manifest: Manifest, plans: list[FilePlan]) -> list[str]:
    """Write each planned rendering (atomically, keeping mode and line endings)."""
    changed = write_files(manifest.root, [(p.path, p.text) for p in plans])
    return [p.path for p, c in zip(plans, changed, strict=True) if c]


def write_all(manifest: Manifest, plans: list[FilePlan], *, force: bool) -> FixOutcome:
    chosen = [p for p in plans if not p.blocked(force)]
    return FixOutcome(tuple(plans), tuple(apply_fixes(manifest, chosen)))


def review_interactively(
    manifest: Manifest,
    plans: list[FilePlan],
    *,
    ask: Chooser,
    echo: Echo,
    force: bool,
    colour: bool,
) -> FixOutcome:
    """Ask per file; write what was accepted once every question is answered.

    "quit" stops asking and keeps what was accepted so far; aborting (Ctrl-C) writes nothing.
    """
    accepted: list[FilePlan] = []
    skipped: list[str] = []
    for index, plan in enumerate(plans):
        echo(explain(plan, force=force, colour=colour))
        if plan.blocked(force):
            continue
        while True:
            answer = ask(plan)
            if answer is None:
                return FixOutcome(tuple(plans), aborted=True)
            if answer != DIFF:
                break
            echo(explain(plan, force=force, colour=colour))
        if answer == APPLY:
            accepted.append(plan)
        elif answer == SKIP:
            skipped.append(plan.path)
        else:  # QUIT
            skipped += [p.path for p in plans[index:] if not p.blocked(force)]
            break
    written = apply_fixes(manifest, accepted)
    return FixOutcome(tuple(plans), tuple(written), skipped=tuple(skipped))


def questionary_chooser(**prompt_options: Any) -> Chooser:
    """A :data:`Chooser` that asks with questionary (``prompt_options`` go to the prompt,
    e.g. ``input``/``output`` in tests)."""
    import questionary

    choices = [
        questionary.Choice("apply", value=APPLY, shortcut_key="a"),
        questionary.Choice("skip", value=SKIP, shortcut_key="s"),
        questionary.Choice("show diff again", value=DIFF, shortcut_key="d"),
        questionary.Choice("quit", value=QUIT, shortcut_key="q"),
    ]

    def ask(plan: FilePlan) -> str | None:
        answer = questionary.select(
            f"{plan.path}: apply this change?",
            choices=choices,
            use_shortcuts=True,
            **prompt_options,
        ).ask()
        return answer if isinstance(answer, str) else None

    return ask
