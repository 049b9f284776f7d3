# The bridge as a container: `docker compose up` (see docker-compose.yml).
FROM node:20-bookworm-slim AS deps
WORKDIR /app
# better-sqlite3 builds a native addon when no prebuilt binary matches.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production PORT=3000 HOST=0.0.0.0 DATA_DIR=/data
COPY --from=deps /app/node_modules ./node_modules
COPY package.json numbers.example.yaml ./
COPY src ./src
COPY assets ./assets
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
VOLUME ["/data"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:3000/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# SIGTERM drains live calls (DRAIN_TIMEOUT_S) before exiting; give it the time it needs.
STOPSIGNAL SIGTERM
# node itself runs the bridge (tsx as a loader), so signals reach it directly: the tsx CLI
# would run it in a child process behind a signal relay. The flags are npm start's (a test
# keeps the two equal to src/util/gc-tuning.ts, which says why each is there).
CMD ["node", "--single-threaded-gc", "--incremental-marking-soft-trigger=80", "--incremental-marking-hard-trigger=95", \
     "--import", "tsx", "src/main.ts"]
