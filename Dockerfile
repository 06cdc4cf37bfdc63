# syntax=docker/dockerfile:1
# kube-bastion image: build with dev dependencies, run on distroless Node 24 LTS with
# production dependencies only, as a numeric non-root user, with no shell at run time.
#   docker build -t kube-bastion --build-arg VERSION=$(node -p 'require("./package.json").version') .

ARG NODE_IMAGE=node:24-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot

# --- build: compile TypeScript to dist/ ------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# --- deps: production dependencies only, no lifecycle scripts ------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# --- runtime -------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE}
ARG VERSION=0.0.0
LABEL org.opencontainers.image.title="kube-bastion" \
      org.opencontainers.image.description="Identity-aware gateway for apiserver-proxy-style access to in-cluster services, pods and nodes" \
      org.opencontainers.image.source="https://github.com/kube-bastion/kube-bastion" \
      org.opencontainers.image.documentation="https://github.com/kube-bastion/kube-bastion/tree/main/docs" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"
ENV NODE_ENV=production
WORKDIR /app
# package.json carries "type": "module" (ESM) and the version the gateway reports.
COPY --from=deps /app/package.json ./package.json
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Numeric, so Kubernetes can enforce runAsNonRoot without looking the name up.
USER 65532:65532
EXPOSE 8080 9090
# node is PID 1 and handles SIGTERM itself (unready, keep serving the shutdown delay, then drain);
# exec form, so no shell sits in between to swallow the signal.
# --max-semi-space-size=4 (MB): V8's young generation at the size that keeps RSS lowest for a large
# cluster (docs/performance.md, "Memory and start-up"); the benchmark reads this line and runs the same.
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=4", "dist/cli.js"]
CMD ["serve", "--config", "/etc/kube-bastion/config.yaml"]
