# One image for every Damselfly role; the subcommand picks the role:
#   docker run damselfly:dev scheduler | seed | daemon | get URL -O PATH
# Without Docker Hub, build the base with deploy/compose/local-images.sh and pass it:
#   docker build --network host --build-arg BASE_IMAGE=damselfly-base:bookworm-node22 -t damselfly:dev .
# (`--network host`: npm ci reaches the npm registry as the host does; the lab's
# containers themselves never leave their compose network.)
ARG BASE_IMAGE=node:22-bookworm-slim

# --- build: all dependencies, compile, then keep what runs -------------------
FROM ${BASE_IMAGE} AS build
# PEM text of extra CAs npm must trust (a TLS-inspecting proxy on the way to the
# npm registry); used by this stage only, never part of the runtime image
ARG NPM_EXTRA_CA=
WORKDIR /src
COPY . .
RUN if [ -n "$NPM_EXTRA_CA" ]; then printf '%s\n' "$NPM_EXTRA_CA" > /tmp/extra-ca.pem && export NODE_EXTRA_CA_CERTS=/tmp/extra-ca.pem; fi \
 && npm ci --no-audit --no-fund && npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && mkdir /app && cp -a package.json node_modules /app/ \
 && for ws in $(node -p "require('./package.json').workspaces.filter((w) => !['test', 'bench'].includes(w)).join(' ')"); do \
      mkdir -p "/app/$ws" && cp -a "$ws/package.json" "$ws/dist" "/app/$ws/" \
      && if [ -d "$ws/node_modules" ]; then cp -a "$ws/node_modules" "/app/$ws/"; fi; \
    done \
 && rm -f /app/node_modules/@damselfly/test /app/node_modules/@damselfly/bench \
 && find /app -path /app/node_modules -prune -o -type f \( -name '*.d.ts' -o -name '*.map' -o -name '*.tsbuildinfo' \) -exec rm -f {} + \
 && find /app -xtype l -print -delete

# --- runtime: compiled JS and production dependencies, no TS, non-root ------
FROM ${BASE_IMAGE}
# the CLI's entry point, the one place that names it (a layout move edits this line only)
ARG DAMSELFLY_BIN=cli/dist/bin/damselfly.js
WORKDIR /app
COPY --from=build /app /app
RUN chmod 0755 "/app/$DAMSELFLY_BIN" && ln -s "/app/$DAMSELFLY_BIN" /usr/local/bin/damselfly \
 && mkdir -p /var/lib/damselfly /data && chown node:node /var/lib/damselfly /data
# every role binds ports above 1024 and writes only its data dir; numeric (the
# image's `node` user) so Kubernetes' runAsNonRoot can verify it
USER 1000:1000
ENV NODE_ENV=production
# libp2p 65000, proxy 65001, local API 65002, metrics 65003, data channel 65004; scheduler HTTP 8002, libp2p 8003
EXPOSE 8002 8003 65000 65001 65002 65003 65004
ENTRYPOINT ["node", "--heap-growing-percent=300", "--max-semi-space-size=8", "/usr/local/bin/damselfly"]
CMD ["--help"]
