#!/usr/bin/env bash
# The docker-compose lab on a real Docker engine, end to end (npm run compose:smoke):
#   1. a Docker engine: the one that answers ($DOCKER_HOST or the default socket), or one of our
#      own (dockerd with its own data root, exec root and socket; no bridge, no iptables, no IP
#      forwarding: containers reach their compose network and nothing else), stopped at the end
#   2. images: the public node:22-bookworm-slim / registry:2 when the engine has them, else
#      deploy/compose/local-images.sh (Debian + npm, cached by tag); `docker-compose build`
#   3. `docker-compose up -d`, every service healthy (healthchecks polled, bounded)
#   4. a 3-layer test image pushed into the compose registry (`origin`) with skopeo
#   5. checks: (a) `damselfly get` of the hub's sample in two peers of different pools, sha256 equal
#      to the hub's file; (b) `docker pull` of the test image twice by a second, pull-only dockerd
#      whose registry-mirrors entry is a peer's proxy: first peer-a1 (127.0.0.1:65001), then,
#      after `docker rmi` and a reload, peer-b1 — the registry must serve each blob about once;
#      (c) the scheduler's dashboard and /api/v1/peers list every peer, its peer id is the one the
#      peers pin (deploy/compose/lab-scheduler.key), preheat is refused without scheduler.yaml's
#      adminToken and succeeds with it; (d) `docker-compose down -v` leaves no container, network
#      or volume
# Prints one JSON line; exits non-zero on any failure, with the failing service's logs.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
started=$(date +%s)

PROJECT=${SMOKE_PROJECT:-dflysmoke}
# kept between runs: our own engine's data root, so built base images stay cached
STATE=${DAMSELFLY_SMOKE_STATE:-/var/tmp/damselfly-smoke}
# short: dockerd's and containerd's unix sockets live under it
RUN=$(mktemp -d /tmp/dfsmoke.XXXXXX)
export HUB_SAMPLE_BYTES=${HUB_SAMPLE_BYTES:-67108864}
DOCKER_BIN=$(command -v /usr/bin/docker || command -v docker)
COMPOSE_BIN=$(command -v docker-compose)
HEALTH_TIMEOUT=${SMOKE_HEALTH_TIMEOUT:-240}
# a dead local port: anything the pull engine would send to Docker Hub fails at once
NOWHERE=http://127.0.0.1:9

log () { printf 'smoke: %s\n' "$*" >&2; }
docker () { "$DOCKER_BIN" "$@"; }
compose () { "$COMPOSE_BIN" -p "$PROJECT" "$@"; }
pulld () { "$DOCKER_BIN" -H "unix://$RUN/pull.sock" "$@"; }

own_engine=0
compose_up=0
failed_service=""

stop_dockerd () { # pidfile
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.5; done
  log "dockerd $pid did not stop in 30 s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

cleanup () {
  local rc=$?
  set +e
  if [ "$rc" != 0 ]; then
    if [ -n "$failed_service" ]; then
      log "logs of $failed_service:"; compose logs --no-color --tail 80 "$failed_service" >&2
    elif [ "$compose_up" = 1 ]; then
      log "service states:"; compose ps >&2
      compose logs --no-color --tail 30 >&2
    fi
    [ -f "$RUN/pull.log" ] && { log "pull engine log (tail):"; tail -n 20 "$RUN/pull.log" >&2; }
  fi
  [ "$compose_up" = 1 ] && compose down -v --remove-orphans >/dev/null 2>&1
  stop_dockerd "$RUN/pull.pid"
  if [ "$own_engine" = 1 ]; then
    docker rmi damselfly-smoke:v1 >/dev/null 2>&1
    docker image prune -f >/dev/null 2>&1
    stop_dockerd "$STATE/dockerd.pid"
  fi
  # a stopped dockerd leaves its exec root's netns/default mounted
  awk -v run="$RUN/" 'index($2, run) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r -n1 umount -l
  rm -rf --one-file-system "$RUN"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for () { # seconds description command...
  local limit=$1 what=$2; shift 2
  local end=$(( $(date +%s) + limit ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] || { log "timed out after ${limit}s waiting for $what"; return 1; }
    sleep 1
  done
}

start_dockerd () { # pidfile socket data-root exec-root log [extra flags...]
  local pidfile=$1 sock=$2 data=$3 exec=$4 logf=$5; shift 5
  mkdir -p "$data" "$exec"
  # --bridge=none / --iptables=false / --ip-forward=false: no docker0, no NAT, no firewall
  # rules and no change to the host's forwarding; published ports go through docker-proxy
  setsid dockerd --data-root "$data" --exec-root "$exec" -H "unix://$sock" --pidfile "$pidfile" \
    --bridge=none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
    "$@" </dev/null >"$logf" 2>&1 &
  wait_for 60 "dockerd on $sock" "$DOCKER_BIN" -H "unix://$sock" version || { tail -n 30 "$logf" >&2; return 1; }
}

# --- 1. engine ---------------------------------------------------------------
if docker version >/dev/null 2>&1; then
  log "using the Docker engine at ${DOCKER_HOST:-the default socket}"
else
  mkdir -p "$STATE"
  stop_dockerd "$STATE/dockerd.pid"   # ours, left by an interrupted run
  log "no Docker engine answers: starting our own (data root $STATE/engine)"
  # the same dead proxy: this engine never reaches Docker Hub either
  HTTPS_PROXY=$NOWHERE HTTP_PROXY=$NOWHERE NO_PROXY=127.0.0.1,localhost \
    start_dockerd "$STATE/dockerd.pid" "$RUN/docker.sock" "$STATE/engine" "$RUN/engine" "$RUN/dockerd.log"
  own_engine=1
  export DOCKER_HOST="unix://$RUN/docker.sock"
fi

# --- 2. images ---------------------------------------------------------------
if [ -z "${DAMSELFLY_BASE_IMAGE:-}" ]; then
  if docker image inspect node:22-bookworm-slim >/dev/null 2>&1 && docker image inspect registry:2 >/dev/null 2>&1; then
    log "public base images present"
  else
    log "node:22-bookworm-slim / registry:2 not in the engine: building them from Debian + npm"
    eval "$(DOCKER="$DOCKER_BIN" deploy/compose/local-images.sh)"
    export DAMSELFLY_BASE_IMAGE DAMSELFLY_REGISTRY_IMAGE
  fi
fi
# npm ci in the build stage must trust what the host trusts (a TLS-inspecting proxy's CA)
if [ -z "${DAMSELFLY_NPM_EXTRA_CA:-}" ] && compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
  DAMSELFLY_NPM_EXTRA_CA=$(cat /usr/local/share/ca-certificates/*.crt)
  export DAMSELFLY_NPM_EXTRA_CA
fi
log "building damselfly:dev"
t=$(date +%s)
compose build scheduler >"$RUN/build.log" 2>&1 || { tail -n 40 "$RUN/build.log" >&2; exit 1; }
build_s=$(( $(date +%s) - t ))
image_bytes=$(docker image inspect -f '{{.Size}}' damselfly:dev)

# --- 3. up, healthy ------------------------------------------------------------
compose_up=1
compose down -v --remove-orphans >/dev/null 2>&1 || true   # leftovers of an interrupted run
end=$(( $(date +%s) + HEALTH_TIMEOUT ))
# up itself waits for the services others depend on (depends_on: service_healthy)
timeout "$HEALTH_TIMEOUT" "$COMPOSE_BIN" -p "$PROJECT" up -d --no-build >"$RUN/up.log" 2>&1 || { cat "$RUN/up.log" >&2; exit 1; }
services=$(compose config --services | wc -l)

health_of () { docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$(compose ps -q "$1")" 2>/dev/null || echo missing; }
all_healthy () {
  local s h n=0
  for s in $(compose config --services); do
    h=$(health_of "$s")
    case "$h" in
      healthy) n=$((n + 1)) ;;
      unhealthy|exited|dead|missing) failed_service=$s; log "$s is $h"; return 2 ;;
    esac
  done
  healthy=$n
  [ "$n" = "$services" ]
}
healthy=0
while :; do
  rc=0; all_healthy || rc=$?
  [ "$rc" = 0 ] && break
  [ "$rc" = 2 ] && exit 1
  if [ "$(date +%s)" -ge "$end" ]; then
    for s in $(compose config --services); do [ "$(health_of "$s")" = healthy ] || { failed_service=$s; break; }; done
    log "not every service healthy after ${HEALTH_TIMEOUT}s${failed_service:+ ($failed_service: $(health_of "$failed_service"))}"
    exit 1
  fi
  sleep 2
done
log "$healthy/$services services healthy"

ip_of () { docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$(compose ps -q "$1")"; }

# --- 4. test image into the compose registry -----------------------------------
mkdir -p "$RUN/img"
for i in 1 2 3; do head -c $(( i * 1048576 + 12345 )) /dev/urandom > "$RUN/img/layer$i.bin"; done
printf 'FROM scratch\nCOPY layer1.bin /\nCOPY layer2.bin /\nCOPY layer3.bin /\nCMD ["/layer1.bin"]\n' > "$RUN/img/Dockerfile"
docker build -q --network none -t damselfly-smoke:v1 "$RUN/img" >/dev/null
image_id=$(docker image inspect -f '{{.Id}}' damselfly-smoke:v1)
docker save -o "$RUN/img.tar" damselfly-smoke:v1
origin=$(ip_of origin)
skopeo copy -q --dest-tls-verify=false "docker-archive:$RUN/img.tar" "docker://$origin:5000/damselfly/smoke:v1" \
  || { failed_service=origin; exit 1; }
manifest=$(curl -sf -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "http://$origin:5000/v2/damselfly/smoke/manifests/v1")
blob_bytes=$(node -e 'const m=JSON.parse(process.argv[1]);console.log([m.config,...m.layers].reduce((s,b)=>s+b.size,0))' "$manifest")
blobs=$(node -e 'const m=JSON.parse(process.argv[1]);console.log([m.config,...m.layers].map(b=>b.digest).join(" "))' "$manifest")
log "pushed damselfly/smoke:v1: $(wc -w <<<"$blobs") blobs, $blob_bytes bytes"

# --- 5a. damselfly get in two pools --------------------------------------------
hub_sum=$(compose exec -T hub sha256sum /data/sample.bin | cut -d' ' -f1)
verified=0
for peer in peer-a2 peer-b2; do
  failed_service=$peer
  compose exec -T "$peer" damselfly get http://hub:8080/sample.bin -O /tmp/sample.bin --no-progress >&2
  sum=$(compose exec -T "$peer" sha256sum /tmp/sample.bin | cut -d' ' -f1)
  [ "$sum" = "$hub_sum" ] || { log "$peer: sha256 $sum, the hub has $hub_sum"; exit 1; }
  verified=$((verified + 1))
done
failed_service=""
log "$verified peers got the hub's sample (sha256 $hub_sum)"

# --- 5b. docker pull through two peers' registry mirrors -----------------------
b1=$(ip_of peer-b1)
mirror () { printf '{"registry-mirrors": ["%s"]}\n' "$1" > "$RUN/pull.json"; }
mirror http://127.0.0.1:65001
HTTPS_PROXY=$NOWHERE HTTP_PROXY=$NOWHERE NO_PROXY="127.0.0.1,localhost,$b1" \
  start_dockerd "$RUN/pull.pid" "$RUN/pull.sock" "$RUN/pull-data" "$RUN/pull-exec" "$RUN/pull.log" --config-file "$RUN/pull.json"
pulls=0
pull_via () { # peer-service mirror-url
  failed_service=$1
  pulld info >"$RUN/pull-info.txt" 2>/dev/null || true
  grep -qF "$2" "$RUN/pull-info.txt" || { log "pull engine does not list mirror $2"; exit 1; }
  timeout 120 "$DOCKER_BIN" -H "unix://$RUN/pull.sock" pull -q damselfly/smoke:v1 >&2
  [ "$(pulld image inspect -f '{{.Id}}' damselfly/smoke:v1)" = "$image_id" ] || { log "pulled image id differs"; exit 1; }
  pulls=$((pulls + 1))
  log "docker pull $pulls through $1 ($2)"
}
pull_via peer-a1 http://127.0.0.1:65001/
pulld rmi damselfly/smoke:v1 >/dev/null
mirror "http://$b1:65001"
kill -HUP "$(cat "$RUN/pull.pid")"   # dockerd reloads registry-mirrors live
wait_for 20 "the pull engine to reload its mirrors" bash -c "'$DOCKER_BIN' -H unix://$RUN/pull.sock info 2>/dev/null | grep -qF 'http://$b1:65001/'"
pull_via peer-b1 "http://$b1:65001/"
failed_service=""

# bytes of blobs the registry sent (its access log: "GET /v2/…/blobs/sha256:… HTTP/1.1" status bytes)
served=$(docker logs "$(compose ps -q origin)" 2>&1 | awk '
  $0 ~ /"GET \/v2\/[^ ]*\/blobs\/sha256:[0-9a-f]+ HTTP/ {
    for (i = 1; i <= NF; i++) if ($i ~ /^HTTP\/1\.[01]"$/) { if ($(i+1) ~ /^20[06]$/) sum += $(i+2); break }
  }
  END { print sum + 0 }')
ratio=$(node -e 'console.log(Math.round(process.argv[1] / process.argv[2] * 1000) / 1000)' "$served" "$blob_bytes")
log "registry served $served blob bytes for 2 pulls of $blob_bytes (ratio $ratio; 2 without the peers)"
node -e 'const r=Number(process.argv[1]); process.exit(r >= 0.99 && r <= 1.25 ? 0 : 1)' "$ratio" \
  || { failed_service=origin; log "each blob should come from the registry about once"; exit 1; }

# --- 5b'. data channels opened with the scheduler's tickets ---------------------
# peers listen on 0.0.0.0 here: each offers the scheduler its one container address, and children
# reach its data port with the tickets in their plans, without a libp2p connection per pair
sched_tickets=0
for p in peer-a1 peer-a2 peer-b1 peer-b2; do
  n=$(curl -sf "http://$(ip_of "$p"):65003/metrics" | awk '/^damselfly_data_channels_opened_total\{.*ticket="scheduler"/ { s += $NF } END { print s + 0 }')
  sched_tickets=$((sched_tickets + n))
done
log "data channels opened with scheduler tickets: $sched_tickets"
[ "$sched_tickets" -gt 0 ] || { failed_service=peer-b1; log "no peer opened a data channel with a scheduler ticket"; exit 1; }

# --- 5c. dashboard and peers ----------------------------------------------------
failed_service=scheduler
dashboard=$(curl -sf http://127.0.0.1:8002/dashboard) || dashboard=""
grep -qi '<html' <<<"$dashboard" || { log "no dashboard at 127.0.0.1:8002/dashboard"; exit 1; }
peers_json=$(curl -sf http://127.0.0.1:8002/api/v1/peers)
node -e '
  const peers = JSON.parse(process.argv[1])
  const pools = peers.reduce((m, p) => { m[p.pool] = (m[p.pool] ?? 0) + 1; return m }, {})
  const ok = pools["edge-a"] === 2 && pools["edge-b"] === 2 && peers.some((p) => p.seed && p.pool === "cloud")
  if (!ok) { console.error("scheduler lists", JSON.stringify(pools)); process.exit(1) }
' "$peers_json"
log "dashboard up; scheduler lists $(node -e 'console.log(JSON.parse(process.argv[1]).length)' "$peers_json") peers"
json_field () { node -e 'let s="";process.stdin.on("data",(d)=>s+=d).on("end",()=>console.log(JSON.parse(s)[process.argv[1]]))' "$1"; }
# the scheduler runs as the lab key's identity, the one every peer and the seed pinned (they would
# not have registered otherwise: no dev mode anywhere)
pinned=$(sed -n 's#^ *- http://scheduler:8002/p2p/\([1-9A-HJ-NP-Za-km-z]*\)$#\1#p' deploy/compose/peer.yaml)
running=$(curl -sf http://127.0.0.1:8002/api/v1/info | json_field peerId)
[ -n "$pinned" ] && [ "$running" = "$pinned" ] || { log "scheduler is $running, peers pin ${pinned:-nothing}"; exit 1; }
# preheat wants scheduler.yaml's adminToken: refused without it, a job with it
admin=$(sed -n 's/^adminToken: *//p' deploy/compose/scheduler.yaml)
body='{"url":"http://hub:8080/sample.bin","pools":["edge-a","edge-b"]}'
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/json' -d "$body" http://127.0.0.1:8002/api/v1/preheat)
[ "$code" = 401 ] || { log "preheat without the admin token answered $code, not 401"; exit 1; }
job=$(curl -sf -H "authorization: Bearer $admin" -H 'content-type: application/json' -d "$body" http://127.0.0.1:8002/api/v1/preheat) \
  || { log "preheat with the admin token refused"; exit 1; }
job_id=$(json_field id <<<"$job")
preheat_state () { [ "$(curl -sf "http://127.0.0.1:8002/api/v1/preheat/$job_id" | json_field state)" = succeeded ]; }
wait_for 60 "preheat job $job_id to succeed" preheat_state || { curl -s "http://127.0.0.1:8002/api/v1/preheat/$job_id" >&2; exit 1; }
failed_service=""
log "scheduler identity $running pinned by the peers; preheat needs the admin token and succeeded"

# --- 5d. down leaves nothing ----------------------------------------------------
stop_dockerd "$RUN/pull.pid"
compose down -v --remove-orphans >"$RUN/down.log" 2>&1 || { cat "$RUN/down.log" >&2; exit 1; }
compose_up=0
label="label=com.docker.compose.project=$PROJECT"
left="$(docker ps -aq --filter "$label") $(docker network ls -q --filter "$label") $(docker volume ls -q --filter "$label")"
[ -z "${left// /}" ] || { log "left behind after down -v: $left"; exit 1; }

printf '{"services":%d,"healthy":%d,"peersVerified":%d,"dockerPulls":%d,"registryBlobBytesRatio":%s,"seconds":%d,"imageBytes":%d,"buildSeconds":%d}\n' \
  "$services" "$healthy" "$verified" "$pulls" "$ratio" "$(( $(date +%s) - started ))" "$image_bytes" "$build_s"
