"""The command line: parse flags, call one function, map its result to output and exit code."""

from __future__ import annotations

import sys
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
        _echo(
            f"{len(drifted)} of {len(results)} files drift from their templates: {names} "
            "(`dockerforge render` rewrites them; `dockerforge fix` explains why)"
        )
        raise typer.Exit(EXIT_FINDINGS)
    _echo(f"{len(results)} files match their templates")


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
