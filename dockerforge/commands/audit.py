"""``dockerforge audit``: the ECS readiness audit of every service, as data."""

from __future__ import annotations

from datetime import date

from dockerforge.audit import Report, audit
from dockerforge.services import ServiceSet


def run(selection: ServiceSet, today: date) -> Report:
    return audit(
        selection.root,
        selection.services,
        today=today,
        manifest=selection.manifest,
        workspace=selection.model.workspace,
    )
