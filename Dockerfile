# syntax=docker/dockerfile:1
# The reference gateway image: `cybernetic serve` by default, `cybernetic worker` with the command `worker`.
# Build from the repository root: docker build -t cybernetic .   (docker/docker-compose.yml does)
ARG NODE_IMAGE=node:24-bookworm-slim

# 1. Build: the whole workspace with the pinned pnpm, then only the gateway and its production dependencies.
FROM ${NODE_IMAGE} AS build
ENV CI=true
RUN npm install --global --no-audit --no-fund pnpm@12.4.2
WORKDIR /src
COPY . .
RUN pnpm install --frozen-lockfile \
 && pnpm build \
 && pnpm --filter @cybernetic/gateway deploy --prod --no-optional /out \
 && rm -f /out/pnpm-lock.yaml /out/pnpm-workspace.yaml

# 2. Run: Node LTS, no build tools, no package manager state, a non-root user.
FROM ${NODE_IMAGE} AS runtime
# Node's default heap settings: `cybernetic serve` and `worker` tune V8 for serving themselves
# (tuneRuntimeForServing, docs/configuration.md "Operations").
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080
WORKDIR /app
COPY --from=build --chown=root:root /out /app
COPY --chmod=0755 docker/scripts/entrypoint.sh docker/scripts/healthcheck.sh /usr/local/bin/
# The image's `node` user (uid 1000); nothing under /app is writable by it.
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["/usr/local/bin/healthcheck.sh"]
ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]
CMD ["serve"]
