"""Render the model into Dockerfiles and the root .dockerignore with Jinja2 templates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import jinja2

from dockerforge.errors import Location, UserError
from dockerforge.manifest import MANIFEST_NAME
from dockerforge.model import BUILD_TOOLCHAIN, RUNTIME_UID, RUNTIME_USER, Manifest, Service
from dockerforge.resources import bundled_templates

DOCKERIGNORE = ".dockerignore"


@dataclass(frozen=True)
class RenderedFile:
    """One file dockerforge owns: where it goes and what it must contain."""

    path: str  # relative to the repository root, POSIX style
    text: str
    service: str | None  # None for repository-wide files such as .dockerignore


def sed_pattern(text: str) -> str:
    """Escape a package name for a sed basic regular expression."""
    return re.sub(r"([.*\[\]^$\\])", r"\\\1", text)


def environment(manifest: Manifest) -> jinja2.Environment:
    """Templates from the repository's own folder first, then the bundled ones.

    The bundled ones are also reachable as ``dockerforge/<name>`` so an override can extend
    the template it replaces.
    """
    bundled = jinja2.FileSystemLoader(bundled_templates())
    loaders: list[jinja2.BaseLoader] = []
    if manifest.templates is not None:
        loaders.append(jinja2.FileSystemLoader(manifest.templates))
    loaders += [bundled, jinja2.PrefixLoader({"dockerforge": bundled})]
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["sed_pattern"] = sed_pattern
    return env


def render_template(env: jinja2.Environment, template: str, /, **context: object) -> str:
    """Render one template; a mistake in a (repository) template is a user error."""
    try:
        return env.get_template(template).render(**context)
    except jinja2.TemplateSyntaxError as exc:
        where = Location(Path(exc.filename), exc.lineno) if exc.filename else None
        raise UserError(f"template error: {exc.message}", where) from None
    except jinja2.TemplateError as exc:
        raise UserError(f"template {template}: {exc}") from None


def render_dockerfile(manifest: Manifest, service: Service, env: jinja2.Environment) -> str:
    return render_template(
        env,
        "Dockerfile.j2",
        service=service,
        image=manifest.image,
        build_files=manifest.build_files,
        toolchain=BUILD_TOOLCHAIN,
        user=RUNTIME_USER,
        uid=RUNTIME_UID,
        manifest_name=MANIFEST_NAME,
    )


def render_dockerignore(manifest: Manifest, env: jinja2.Environment) -> str:
    return render_template(
        env, "dockerignore.j2", output_dirs=manifest.output_dirs, manifest_name=MANIFEST_NAME
    )


def select_services(manifest: Manifest, names: list[str] | None) -> list[Service]:
    """The services named on the command line (all when none), or a usage error."""
    if not names:
        return list(manifest.services)
    chosen = []
    for name in names:
        service = manifest.service(name)
        if service is None:
            known = ", ".join(s.name for s in manifest.services)
            raise UserError(f"unknown service {name!r} (the manifest has: {known})")
        chosen.append(service)
    return chosen


def render_files(manifest: Manifest, names: list[str] | None = None) -> list[RenderedFile]:
    """Everything dockerforge owns for these services, plus the root .dockerignore.

    The .dockerignore is included only when every service is selected, because it is shared.
    """
    env = environment(manifest)
    files = [
        RenderedFile(s.dockerfile, render_dockerfile(manifest, s, env), s.name)
        for s in select_services(manifest, names)
    ]
    if not names:
        files.append(RenderedFile(DOCKERIGNORE, render_dockerignore(manifest, env), None))
    return files
