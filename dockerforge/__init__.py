"""dockerforge: canonical, checked, ECS-ready Dockerfiles for pnpm monorepos."""

__version__ = "0.1.0.dev0"
