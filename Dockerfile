# The bridge as a container: `docker compose up` (see docker-compose.yml).
# Node 22 is an LTS line supported until April 2027; Node 20 reached end of life in April 2026
# (https://nodejs.org/en/about/previous-releases). `npm run test:node22` runs the suite on it.
# Not Node 24 yet: from 24.19 node::ObjectWrap registers environment cleanup hooks, and
# better-sqlite3 12 aborts the process (SIGABRT, `Assertion failed: (env) != nullptr` in
# RemoveEnvironmentCleanupHook) when the GC finalizes a statement outside a JS context
# (WiseLibs/better-sqlite3#1515); seen here in the test suite on 24.21. better-sqlite3 13 fixes
# it but needs Node 22+, so the move to 24 comes with dropping Node 20 for development.

# Production dependencies only. better-sqlite3 builds a native addon when no prebuilt binary matches.
FROM node:22-bookworm-slim AS deps
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev

# src/ compiled to dist/ with the dev dependencies (TypeScript); only dist/ leaves this stage.
# tsc needs no install scripts, so nothing native is built here.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:22-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production PORT=3000 HOST=0.0.0.0 DATA_DIR=/data
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# dist/ finds these one level up, as src/ does (src/util/project-files.ts).
COPY package.json numbers.example.yaml ./
COPY assets ./assets
# the console's TypeScript, bundled by esbuild (a production dependency) on its first request
COPY console ./console
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
VOLUME ["/data"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:3000/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# SIGTERM drains live calls (DRAIN_TIMEOUT_S) before exiting; give it the time it needs.
STOPSIGNAL SIGTERM
# node itself runs the compiled bridge, so signals reach it directly (npm would relay them from
# a parent process). This is npm run start:prod's command; a test keeps its flags equal to
# src/util/gc-tuning.ts, which says why each is there.
CMD ["node", "--single-threaded-gc", "--incremental-marking-soft-trigger=80", "--incremental-marking-hard-trigger=95", \
     "dist/main.js"]
