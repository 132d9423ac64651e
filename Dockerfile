# The identity service's image (README.md, "Container"). Stages: the toolchain the native
# modules (better-sqlite3, argon2) compile with; build (every dependency, TypeScript compiled
# to dist/); deps (production dependencies only); runtime (Node and what the server loads).
# The RUN and CMD lines are the README's production procedure (test/container.spec.ts checks).
ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS toolchain
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# The postinstall script that compiles argon2 from source.
COPY scripts/install-argon2.mjs scripts/

FROM toolchain AS build
RUN npm ci
COPY tsconfig.json tsconfig.build.json ormconfig.ts ./
COPY migrations migrations
COPY src src
RUN npm run build

FROM toolchain AS deps
RUN npm ci --omit=dev

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/package.json ./
COPY --from=deps /app/node_modules node_modules
COPY --from=build /app/dist dist
# Files are root's and read-only to the service; only data/ (SQLite, when DATABASE_URL is
# empty) is writable.
RUN mkdir data && chown node:node data
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT ?? 3000}/api/v1/health/live`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node is PID 1 and handles SIGTERM and SIGINT itself (src/main.ts: drain, flush logs, exit 0);
# it starts no child processes, so there is nothing for an init to reap.
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/main.js"]
