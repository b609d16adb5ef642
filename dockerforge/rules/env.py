"""Environment variables the task definition must set: DF119-DF120."""

from __future__ import annotations

from collections.abc import Iterator

from dockerforge.rules.base import INFO, WARNING, Finding, Fix, RepoTarget, Rule, ServiceTarget


class TaskEnvironment(Rule):
    code = "DF119"
    title = "Environment the task definition must set"
    severity = INFO
    why = (
        "In ECS there is no `.env` file: every variable the service reads comes from the task "
        "definition (`environment`, or `secrets` from Secrets Manager or SSM). A variable that "
        "a start-up check requires and the task does not set makes the task exit at once, and "
        "ECS restarts it in a loop."
    )
    bad = '"environment": []   # the service calls validateRequiredEnvVars() at start-up'
    good = (
        '"environment": [{"name": "NODE_ENV", "value": "production"}],\n'
        '"secrets": [{"name": "JWT_SECRET", "valueFrom": "arn:aws:secretsmanager:..."}]'
    )
    fix = Fix(False, "manual", "use `dockerforge ecs` for the environment and secrets entries")

    def check(self, target: ServiceTarget) -> Iterator[Finding]:
        env = target.env
        path, line = target.manifest_line
        secrets = [v.name for v in env.secrets]
        plain = ", ".join(f"{v.name}={v.value}" for v in env.environment)
        text = f"its task definition must set {plain}"
        text += f" and the secrets {', '.join(secrets)}" if secrets else " (no secrets declared)"
        yield self.finding(path, line, text, target.name)

    def check_repo(self, repo: RepoTarget) -> Iterator[Finding]:
        """A start-up check nobody calls yet: what a service that starts calling it needs."""
        called = {call.validator for t in repo.services for call in t.env.calls}
        seen = set()
        for target in repo.services:
            for validator in target.env.validators:
                if validator in called or validator in seen:
                    continue
                seen.add(validator)
                yield self.finding(
                    repo.relative(validator.file),
                    validator.line,
                    f"{validator.name}() requires {validator.describe()}; no audited service "
                    "calls it, so a service that starts to must get these in its task definition",
                )


class UndeclaredEnvironment(Rule):
    code = "DF120"
    title = "Code requires environment variables the manifest does not declare"
    severity = WARNING
    why = (
        "`dockerforge ecs` writes a task definition's variables from the manifest's `env:`. "
        "A variable the service's start-up check requires but the manifest does not list is "
        "missing from that task definition, and the task exits as soon as it starts in ECS."
    )
    bad = (
        "# services/api/src/index.ts calls validateRequiredEnvVars() (needs JWT_SECRET)\n"
        "api:\n  port: 3000"
    )
    good = "api:\n  port: 3000\n  env: [JWT_SECRET, DATABASE_URL]"
    fix = Fix(False, "manual", "add the variables to the service's `env:` in dockerforge.yaml")

    def check(self, target: ServiceTarget) -> Iterator[Finding]:
        for missing in target.env.missing:
            call = missing.call
            names = (
                f"one of {' | '.join(missing.names)}"
                if missing.group.one_of
                else ", ".join(missing.names)
            )
            when = f" (when {missing.group.condition} is set)" if missing.group.condition else ""
            yield self.finding(
                target.repo.relative(call.file),
                call.line,
                f"{call.validator.name}() requires {names}{when}, which {target.name} does not "
                "declare in its env:",
                target.name,
            )


RULES: tuple[Rule, ...] = (TaskEnvironment(), UndeclaredEnvironment())
