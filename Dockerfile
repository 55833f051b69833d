# One image for the API (default command) and the job worker (`node dist/src/worker.js`).
#
#   docker build -t model-marketplace .
#   docker run -p 4000:4000 -e DATABASE_URL=... -e REDIS_URL=... model-marketplace
#   docker build --target gpu -t model-marketplace:gpu .    # worker with the Vulkan loader for WebGPU
#
# Stages: deps (all dependencies) -> build (tsc to dist/) ; prod-deps (runtime dependencies only)
# -> runtime-base -> gpu | runtime. `runtime` is the last stage, so a plain build produces it.

ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS base
WORKDIR /app
# onnxruntime-node's install step downloads CUDA provider files; the CPU and WebGPU providers ship
# inside the package. The image's npm (10) runs dependency install scripts (npm 11 runs only those
# package.json's allowScripts approves, and it approves none), so the step is skipped by its own
# variable, read by its install script and not by npm.
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json ./
# `npm ci` runs the `prepare` script, which bundles the GraphiQL playground (a no-op without esbuild,
# as in prod-deps); the bundle is copied from deps into the runtime image.
COPY scripts/build-playground.mjs ./scripts/
COPY playground ./playground

FROM base AS deps
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund

FROM deps AS build
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts ./scripts
# src/db/orm-config.ts imports migrations/index.ts, so tsc compiles them into dist/migrations/.
COPY migrations ./migrations
RUN npm run build

FROM base AS prod-deps
# onnxruntime-node also ships macOS and Windows binaries (about 220 MB) that Linux never loads.
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund \
  && rm -rf node_modules/onnxruntime-node/bin/napi-v*/darwin node_modules/onnxruntime-node/bin/napi-v*/win32

FROM ${NODE_IMAGE} AS runtime-base
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000 \
    DATA_DIR=/data \
    MODEL_STORAGE_DIR=/data/models
WORKDIR /app
# Writable by the non-root user; a named volume mounted on /data/models starts with this owner.
RUN mkdir -p /data/models && chown -R node:node /data
COPY --from=prod-deps /app/node_modules ./node_modules
# package.json says "type": "module": without it Node would load dist/**/*.js as CommonJS.
COPY package.json ./
COPY --from=build /app/dist ./dist
COPY --from=deps /app/playground/dist ./playground/dist
COPY migrations ./migrations
COPY schema.graphql ./
USER node
EXPOSE 4000
# The slim image has no curl: Node's own fetch probes liveness. The worker serves no HTTP, so its
# compose service turns this check off.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/health/live', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/main.js"]

# GPU worker: onnxruntime-node's WebGPU provider reaches NVIDIA GPUs through Vulkan, so the image
# needs the Vulkan loader and GL dispatch libraries; the NVIDIA container toolkit mounts the
# driver and its Vulkan ICD when the "graphics" capability is requested.
FROM runtime-base AS gpu
USER root
RUN apt-get update \
  && apt-get install -y --no-install-recommends libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 \
  && rm -rf /var/lib/apt/lists/*
ENV NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics
USER node
CMD ["node", "dist/src/worker.js"]

FROM runtime-base AS runtime
