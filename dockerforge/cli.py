"""The command line: parse flags, call one function, map its result to output and exit code."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from dockerforge import __version__
from dockerforge.errors import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, UserError
from dockerforge.model import Manifest

app = typer.Typer(
    name="dockerforge",
    help="Canonical, checked, ECS-ready Dockerfiles for pnpm monorepos of Node.js services.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

RepoOption = Annotated[
    Path | None,
    typer.Option(
        "--repo",
        help="Monorepo root (default: the nearest folder at or above the current one "
        "that holds dockerforge.yaml).",
        file_okay=False,
    ),
]
ServicesArgument = Annotated[
    list[str] | None, typer.Argument(help="Services to act on (default: all).", show_default=False)
]


def _print_version(value: bool) -> None:
    if value:
        _echo(f"dockerforge {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", callback=_print_version, is_eager=True
        ),
    ] = False,
) -> None:
    """Canonical, checked, ECS-ready Dockerfiles for pnpm monorepos of Node.js services."""


def _load(repo: Path | None) -> Manifest:
    from dockerforge.manifest import find_repo, load_manifest

    root = find_repo(repo if repo is not None else Path.cwd())
    if repo is not None and root != repo.resolve():
        raise UserError(f"no dockerforge.yaml in {repo}")
    return load_manifest(root)


def _echo(text: str = "", *, err: bool = False) -> None:
    typer.echo(text, err=err)


@app.command()
def render(
    services: ServicesArgument = None,
    repo: RepoOption = None,
    stdout: Annotated[
        bool, typer.Option("--stdout", help="Print one service's Dockerfile instead of writing.")
    ] = False,
) -> None:
    """Write each service's Dockerfile (and the root .dockerignore) from the templates."""
    manifest = _load(repo)
    if stdout:
        from dockerforge.render import render_files

        if not services or len(services) != 1:
            raise UserError("--stdout prints one Dockerfile: name exactly one service")
        sys.stdout.write(render_files(manifest, services)[0].text)
        return
    from dockerforge.commands.render import render as run

    results = run(manifest, services)
    for result in results:
        _echo(f"{'wrote' if result.changed else 'unchanged'} {result.path}")
    changed = sum(r.changed for r in results)
    _echo(f"{changed} written, {len(results) - changed} unchanged")


@app.command()
def check(services: ServicesArgument = None, repo: RepoOption = None) -> None:
    """Exit 1 with a diff when a committed Dockerfile differs from its rendering."""
    from dockerforge.commands.check import check as run
    from dockerforge.diffs import colourize, wants_colour

    results = run(_load(repo), services)
    drifted = [r for r in results if r.drifted]
    colour = wants_colour()
    for result in drifted:
        diff = result.diff()
        sys.stdout.write(colourize(diff) if colour else diff)
    if drifted:
        names = ", ".join(r.rendered.service or r.path for r in drifted)
        verb = "drifts" if len(drifted) == 1 else "drift"
        _echo(
            f"{len(drifted)} of {_files(len(results))} {verb} from the templates: {names} "
            "(`dockerforge render` rewrites; `dockerforge fix` explains why)"
        )
        raise typer.Exit(EXIT_FINDINGS)
    verb = "matches its template" if len(results) == 1 else "match their templates"
    _echo(f"{_files(len(results))} {verb}")


def _files(count: int) -> str:
    return "1 file" if count == 1 else f"{count} files"


@app.command()
def new(
    name: Annotated[
        str, typer.Argument(help="Name of the service (its folder and package name part).")
    ],
    repo: RepoOption = None,
    kind: Annotated[str | None, typer.Option("--kind", help="http or worker.")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (http services).")] = None,
    health: Annotated[
        str | None, typer.Option("--health", help="Health-check path (default /health).")
    ] = None,
    dep: Annotated[
        list[str] | None,
        typer.Option("--dep", help="Another service it needs at runtime (repeatable)."),
    ] = None,
    env: Annotated[
        list[str] | None,
        typer.Option("--env", help="A required environment variable (repeatable)."),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Ask nothing; fail if an answer is missing.")
    ] = False,
    install: Annotated[
        bool, typer.Option("--install", help="Run pnpm install to update pnpm-lock.yaml.")
    ] = False,
) -> None:
    """Scaffold a service, add it to dockerforge.yaml and render its Dockerfile.

    On a terminal with no answer flags it asks; otherwise it asks nothing.
    """
    from dockerforge.commands import new as command

    manifest = _load(repo)
    request = command.Request(name, kind, port, health, tuple(dep or ()), tuple(env or ()))
    answered = yes or dep or env or any(v is not None for v in (kind, port, health))
    if not answered and sys.stdin.isatty():
        asked = command.ask(manifest, name, install=install)
        if asked is None:
            _echo("nothing written")
            raise typer.Exit(EXIT_FINDINGS)
        request, install = asked
    created = command.create(manifest, request, install=install)
    _echo(created.summary())
    for path in created.written:
        _echo(f"  wrote {path}")
    if created.install_code not in (None, 0):
        _echo(
            f"dockerforge: pnpm install failed (exit {created.install_code}); the service is "
            "written, run `pnpm install` again once the problem is fixed",
            err=True,
        )
    _echo("next steps:")
    for step in created.next_steps():
        _echo(f"  {step}")
    if created.install_code not in (None, 0):
        raise typer.Exit(EXIT_FINDINGS)


@app.command()
def fix(
    services: ServicesArgument = None,
    repo: RepoOption = None,
    write: Annotated[bool, typer.Option("--write", help="Apply the changes.")] = False,
    interactive: Annotated[
        bool, typer.Option("--interactive", "-i", help="Ask per file, then apply the accepted.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Also replace files whose lines need review.")
    ] = False,
) -> None:
    """Show why each non-canonical Dockerfile must change, as a diff; --write applies it.

    Exit 1 while changes are pending, 0 when every file matches its rendering.
    """
    from dockerforge.commands import fix as command
    from dockerforge.diffs import wants_colour

    if write and interactive:
        raise UserError("--write and --interactive exclude each other")
    if interactive and not sys.stdin.isatty():
        raise UserError("--interactive needs a terminal (use --write to apply without asking)")
    manifest = _load(repo)
    plans = command.plan_fixes(manifest, services)
    if not plans:
        return
    colour = wants_colour()
    if interactive:
        outcome = command.review_interactively(
            manifest,
            plans,
            ask=command.questionary_chooser(),
            echo=lambda text: sys.stdout.write(text),
            force=force,
            colour=colour,
        )
        if outcome.aborted:
            _echo("aborted: nothing written", err=True)
            raise typer.Exit(EXIT_FINDINGS)
    elif write:
        outcome = command.write_all(manifest, plans, force=force)
        for plan in plans:
            sys.stdout.write(command.explain(plan, force=force, colour=colour, diff=False))
    else:
        outcome = command.FixOutcome(tuple(plans))
        for plan in plans:
            sys.stdout.write(command.explain(plan, force=force, colour=colour))
    _echo(command.summary(outcome, force=force, dry_run=not (write or interactive)), err=True)
    raise typer.Exit(EXIT_FINDINGS if outcome.pending else EXIT_OK)


@app.command()
def init(
    repo: Annotated[
        Path | None,
        typer.Option(
            "--repo", help="Monorepo root (default: the current folder).", file_okay=False
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing dockerforge.yaml.")
    ] = False,
    stdout: Annotated[
        bool, typer.Option("--stdout", help="Print the manifest instead of writing it.")
    ] = False,
) -> None:
    """Write a commented dockerforge.yaml inferred from the repository, saying where each
    value came from."""
    from dockerforge.commands import init as command

    result = command.init(repo or Path.cwd(), force=force, write=not stdout)
    for line in command.report(result):
        _echo(line, err=stdout)
    if stdout:
        sys.stdout.write(result.text)
    else:
        _echo(command.summary(result))


AnyRepoOption = Annotated[
    Path | None,
    typer.Option(
        "--repo",
        help="Monorepo root (default: the nearest folder at or above the current one that "
        "holds dockerforge.yaml, else pnpm-workspace.yaml; without a manifest the services "
        "are inferred as `dockerforge init` would).",
        file_okay=False,
    ),
]


class AuditFormat(str, Enum):
    text = "text"
    markdown = "markdown"
    json = "json"
    sarif = "sarif"


class Severity(str, Enum):
    error = "error"
    warning = "warning"
    info = "info"


class RulesFormat(str, Enum):
    text = "text"
    markdown = "markdown"


@app.command()
def audit(
    services: ServicesArgument = None,
    repo: AnyRepoOption = None,
    fmt: Annotated[
        AuditFormat,
        typer.Option(
            "--format",
            help="text (grouped by service), markdown (the audit document), json or sarif.",
        ),
    ] = AuditFormat.text,
    fail_on: Annotated[
        Severity,
        typer.Option(
            "--fail-on", help="Exit 1 when a finding of this severity or worse is not suppressed."
        ),
    ] = Severity.error,
    today: Annotated[
        str | None,
        typer.Option("--today", help="Audit as of this date (YYYY-MM-DD; default: today)."),
    ] = None,
) -> None:
    """ECS Fargate readiness audit of every service's Dockerfile (rules: `dockerforge rules`)."""
    from datetime import date

    from dockerforge.commands.audit import run
    from dockerforge.report import render as render_report
    from dockerforge.services import load_services

    try:
        day = date.fromisoformat(today) if today is not None else date.today()
    except ValueError:
        raise UserError(f"--today {today!r}: expected a date such as 2026-11-26") from None
    report = run(load_services(repo, services), day)
    sys.stdout.write(render_report(report, fmt.value))
    raise typer.Exit(report.exit_code(fail_on.value))


@app.command()
def rules(
    code: Annotated[
        str | None, typer.Argument(help="A rule code such as DF103 (default: list them all).")
    ] = None,
    fmt: Annotated[
        RulesFormat,
        typer.Option("--format", help="text, or markdown (the README's rules table)."),
    ] = RulesFormat.text,
) -> None:
    """List the audit rules, or explain one."""
    from dockerforge.commands import rules as command

    if fmt is RulesFormat.markdown:
        if code is not None:
            raise UserError("--format markdown prints the whole table: name no rule")
        from dockerforge.rules import markdown_table

        sys.stdout.write(markdown_table())
        return
    sys.stdout.write(command.explain(code) if code is not None else command.listing())


@app.command()
def ecs(
    services: ServicesArgument = None,
    repo: AnyRepoOption = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Write <service>.containers.json (and <service>.target-group.json for HTTP "
            "services) into this folder of the repository instead of printing JSON.",
            file_okay=False,
        ),
    ] = None,
) -> None:
    """ECS container definitions (and ALB health checks) that match each service's image."""
    from dockerforge.commands import ecs as command
    from dockerforge.services import load_services

    selection = load_services(repo, services)
    found = command.fragments(selection)
    if out is None:
        sys.stdout.write(command.as_json(found))
        return
    for written in command.write(selection, found, out):
        _echo(f"{'wrote' if written.changed else 'unchanged'} {written.path}")


def main() -> None:
    try:
        app()
    except UserError as exc:
        text = str(exc) if exc.location is not None else f"dockerforge: {exc}"
        typer.echo(text, err=True)
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(EXIT_OK)
