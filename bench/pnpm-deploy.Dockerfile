# The pnpm documentation's own recipe for one image per package of a monorepo ("Working with
# Docker", example 2: `pnpm deploy --filter=<pkg> --prod <dir>`), for one worker of the
# example. bench/image-size-and-rebuild.py builds it from the example's root with
# --build-arg-free `-f bench/pnpm-deploy.Dockerfile`; it is a benchmark reference, not a
# dockerforge template.
#
# Where it departs from the docs, and why:
# - base node:18-bookworm-slim (the CI stand-in; the docs use node:20-slim) and pnpm from
#   `npm install -g pnpm@9.15.9`: the stand-in has no corepack (`corepack enable` in the docs);
# - the build runs `pnpm --filter "<pkg>..." run build` (the package and its workspace
#   dependencies, in order) instead of `pnpm run -r build` (all 18 packages, which also races
#   allocation-worker against admin-service, see the example's README);
# - one target only, for the worker being measured.
FROM node:18-bookworm-slim AS base
ENV PNPM_HOME="/pnpm"
ENV PATH="$PNPM_HOME:$PATH"
RUN npm install -g pnpm@9.15.9

FROM base AS build
COPY . /usr/src/app
WORKDIR /usr/src/app
RUN --mount=type=cache,id=pnpm,target=/pnpm/store pnpm install --frozen-lockfile
RUN pnpm --filter "@kodingcaravan/session-worker..." run build
RUN pnpm deploy --filter=@kodingcaravan/session-worker --prod /prod/session-worker

FROM base AS session-worker
COPY --from=build /prod/session-worker /prod/session-worker
WORKDIR /prod/session-worker
CMD [ "pnpm", "start" ]
