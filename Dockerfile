# syntax=docker/dockerfile:1
# Build stage: install everything, compile TypeScript, then keep only production dependencies.
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
COPY detectors ./detectors
COPY notifiers ./notifiers
RUN npx tsc -p tsconfig.build.json && npm prune --omit=dev --ignore-scripts

# Runtime stage: no compilers, no dev dependencies, non-root, UTC.
FROM node:20-slim
ENV NODE_ENV=production TZ=UTC VIGIL_CONFIG=/app/config/vigil.yaml
# glibc malloc with a fixed mmap threshold (128 KiB, its default start): each large short-lived
# buffer of a history load is a mapping of its own, returned when freed. Left dynamic, the threshold
# rises after the first one is freed, and the later ones leave ~30 MB of holes in the heap under
# the detector states that cannot be returned (10,000 series).
ENV MALLOC_MMAP_THRESHOLD_=131072
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY package.json ./
COPY config ./config
RUN mkdir -p /app/.vigil && chown node:node /app/.vigil && ln -s /app/bin/vigil.js /usr/local/bin/vigil
USER node
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.VIGIL_HTTP_PORT||9464)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# V8: an 8 MB young generation (a tick allocates little), and an old generation allowed to grow to
# 1.2× what it held after its last full GC instead of up to 4×, which keeps the history load's
# peak ~140 MB lower at 10,000 series (bench/scale.ts measures with these flags)
ENTRYPOINT ["node", "--max-semi-space-size=4", "--heap-growing-percent=20", "/app/bin/vigil.js"]
CMD ["run"]
