#!/usr/bin/env bash
# `make test-containers`: deploy/Dockerfile and deploy/docker-compose.yml, run for real with podman.
#
#   1. the debian:12 base image, made locally (mmdebstrap --variant=minbase bookworm | podman import),
#      and PostgreSQL, Redis and nginx images built on it from Debian's packages (deploy/images/):
#      nothing is pulled from a registry;
#   2. the Emporium image (podman build -f deploy/Dockerfile, apt and npm inside the build);
#   3. the compose stack (PostgreSQL, Redis, migrate, two API servers, worker, scheduler, nginx),
#      started service by service, each waited for (podman-compose 1.0.3 does not wait for the
#      `depends_on` conditions, and podman runs no health checks without systemd);
#   4. a shopping flow through nginx (register, log in, search, order with an Idempotency-Key and
#      its replay, pay, the receipt, the e-mail, the payment webhook), both API servers seen answering,
#      one of them stopped while the flow goes on;
#   5. the stack taken down with its volumes (KEEP_CONTAINERS=1 leaves it up; the images stay, so a
#      second run only rebuilds what changed).
#
# Settings: CONTAINERS_PORT (28080: nginx on 127.0.0.1), CONTAINERS_PROJECT (emporium-test),
# BUILD_JOBS (2: parallel compiles in the image build), DEBIAN_MIRROR (http://deb.debian.org).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

port=${CONTAINERS_PORT:-28080}
project=${CONTAINERS_PROJECT:-emporium-test}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org}
state="$root/.local/containers"
mkdir -p "$state"

began=$SECONDS
phase_began=$SECONDS
phases=()
phase() {  # ends the current phase (its time is reported at the end) and names the next one
  if [ -n "${current_phase:-}" ]; then phases+=("$current_phase: $((SECONDS - phase_began)) s"); fi
  current_phase=$1
  phase_began=$SECONDS
  echo "== $1"
}
fail() {
  echo "containers: FAILED: $*" >&2
  exit 1
}

phase "packages"
bash scripts/deps.sh containers

# For every podman command of this script and of podman-compose: runc, and limits the host allows.
# Rootful podman raises each container's open-files and process limits to the maximum by default,
# which a host with lower hard limits refuses ("error setting rlimits … operation not permitted"):
# open files at the host's hard limit, processes at 16384 (plenty for these services; on the
# development machine anything from 65536 up was refused).
nofile=$(ulimit -Hn)
if [ "$nofile" = unlimited ] || [ "$nofile" -gt 1048576 ]; then nofile=1048576; fi
printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=16384:16384"]\n\n[engine]\nruntime = "runc"\n' \
  "$nofile" "$nofile" > "$state/containers.conf"
export CONTAINERS_CONF="$state/containers.conf"

phase "base image"
if ! podman image exists localhost/debian:12; then
  mmdebstrap --variant=minbase --include=ca-certificates bookworm "$state/bookworm.tar" \
    "deb $mirror/debian bookworm main" "deb $mirror/debian bookworm-updates main" \
    "deb $mirror/debian-security bookworm-security main"
  podman import --change 'CMD ["/bin/bash"]' "$state/bookworm.tar" localhost/debian:12 >/dev/null
  rm -f "$state/bookworm.tar"
fi
# The runtime stage of deploy/Dockerfile starts from debian:12-slim; minbase is as small.
podman tag localhost/debian:12 localhost/debian:12-slim

build() {  # tag, Dockerfile, context, extra arguments
  local tag=$1 file=$2 context=$3
  shift 3
  podman build --pull=never --network=host --layers -t "$tag" -f "$file" "$@" "$context"
}
phase "service images"
build localhost/emporium-postgres:15 deploy/images/postgres.Dockerfile deploy/images
build localhost/emporium-redis:7 deploy/images/redis.Dockerfile deploy/images
build localhost/emporium-nginx:stable deploy/images/nginx.Dockerfile deploy/images

phase "emporium image"
# npm inside the build trusts what this host trusts (a TLS-inspecting proxy's certificate, say).
build localhost/emporium:test deploy/Dockerfile . --ignorefile deploy/Dockerfile.dockerignore \
  --build-arg BUILD_JOBS="${BUILD_JOBS:-2}" --secret id=ca_bundle,src=/etc/ssl/certs/ca-certificates.crt
podman run --rm localhost/emporium:test version

phase "stack up"
export POSTGRES_IMAGE=localhost/emporium-postgres:15 REDIS_IMAGE=localhost/emporium-redis:7 \
  NGINX_IMAGE=localhost/emporium-nginx:stable EMPORIUM_TAG=test EMPORIUM_PUBLISH="127.0.0.1:$port"
POSTGRES_PASSWORD=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
JWT_SECRET=$(head -c 48 /dev/urandom | od -An -tx1 | tr -d ' \n')
export POSTGRES_PASSWORD JWT_SECRET
compose() { podman-compose -p "$project" -f deploy/docker-compose.yml "$@"; }
ctr() { echo "${project}_$1_1"; }
down() {
  echo "== logs of the stack (last lines)"
  for s in postgres redis migrate api1 api2 worker scheduler nginx; do
    podman logs --tail 5 "$(ctr "$s")" 2>&1 | sed "s/^/$s: /" || true
  done
  if [ -n "${KEEP_CONTAINERS:-}" ]; then
    echo "containers: left up (KEEP_CONTAINERS); nginx on http://127.0.0.1:$port"
  else
    podman rm -f "$(ctr nginx)" >/dev/null 2>&1 || true
    compose down -v >/dev/null 2>&1 || true
    podman network rm -f "${project}_backend" >/dev/null 2>&1 || true
  fi
}
podman rm -f "$(ctr nginx)" >/dev/null 2>&1 || true  # what an interrupted run left
compose down -v >/dev/null 2>&1 || true
podman network rm -f "${project}_backend" >/dev/null 2>&1 || true
trap down EXIT
# podman-compose 1.0.3 ignores the network's `ipam` subnet, and nginx's fixed address (which
# TRUSTED_PROXIES names) would then lie outside the network: the network is made here, as declared.
subnet=$(sed -n 's/^ *- subnet: *//p' deploy/docker-compose.yml)
podman network create --subnet "$subnet" --label "io.podman.compose.project=$project" "${project}_backend" >/dev/null

eventually() {  # seconds, what, command…: runs the command until it succeeds
  local limit=$1 what=$2
  shift 2
  local until=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $until ] || fail "$what: not within $limit s"
    sleep 1
  done
}

compose up -d postgres redis
eventually 60 "PostgreSQL ready" podman exec "$(ctr postgres)" pg_isready -h 127.0.0.1 -U emporium -d emporium
eventually 30 "Redis ready" podman exec "$(ctr redis)" redis-cli ping
compose up -d migrate
[ "$(podman wait "$(ctr migrate)")" = 0 ] || fail "migrate exited non-zero"
compose run --rm migrate seed --if-empty --products 200 --users 20 --orders 50 --seed 7 >/dev/null
compose up -d api1 api2 worker scheduler
for s in api1 api2; do
  eventually 60 "$s ready" podman exec "$(ctr "$s")" curl -fsS -o /dev/null http://127.0.0.1:8080/readyz
done
# nginx as the compose file declares it, but started by podman itself: podman-compose 1.0.3 fails on
# a service's network given with an address (`networks: backend: ipv4_address: …`, a KeyError).
nginx_ip=$(sed -n 's/^ *ipv4_address: *//p' deploy/docker-compose.yml)
podman run -d --name "$(ctr nginx)" --label "io.podman.compose.project=$project" \
  --network "${project}_backend" --ip "$nginx_ip" --network-alias nginx \
  -v "$root/deploy/nginx.conf:/etc/nginx/nginx.conf:ro" -p "127.0.0.1:$port:8080" \
  --restart unless-stopped "$NGINX_IMAGE" >/dev/null
H="http://127.0.0.1:$port"
B="$H/api/v1"
eventually 30 "nginx answering" curl -fsS -o /dev/null "$H/readyz"

phase "shopping flow"
work=$(mktemp -d)
api() { curl -sS --fail-with-body -H 'Content-Type: application/json' "$@"; }
curl -sS --fail-with-body "$H/" | grep -q '<div id="app">' || fail "the storefront's page"
api -d '{"email":"box@example.com","password":"correct horse battery","name":"Box"}' "$B/auth/register" >/dev/null
T=$(api -d '{"email":"box@example.com","password":"correct horse battery"}' "$B/auth/login" | jq -er .access_token)
word=$(api "$B/products?limit=1" | jq -er '.items[0].name' | cut -d' ' -f1)
api "$B/products?q=$word&limit=3" | jq -e '.items | length > 0' >/dev/null || fail "a search for '$word' found nothing"
P=$(api "$B/products?sort=rank&in_stock=true&limit=1" | jq -e '.items[0].id')
key=$(cat /proc/sys/kernel/random/uuid)
order='{"items":[{"product_id":'"$P"',"quantity":1}],"shipping_address":{"line1":"1 Main St","city":"Oslo"}}'
O=$(api -H "Authorization: Bearer $T" -H "Idempotency-Key: $key" -d "$order" "$B/orders" | jq -e .id)
O2=$(api -H "Authorization: Bearer $T" -H "Idempotency-Key: $key" -d "$order" "$B/orders" | jq -e .id)
[ "$O" = "$O2" ] || fail "the replayed Idempotency-Key made a second order ($O, $O2)"
api -H "Authorization: Bearer $T" -H "Idempotency-Key: pay-$O" -d '{"payment_method":"tok_ok"}' \
  "$B/orders/$O/pay" >/dev/null
paid() { api -H "Authorization: Bearer $T" "$B/orders/$O" | jq -e 'select(.status == "paid")'; }
eventually 60 "order $O paid by the worker" paid
receipt() { curl -sSf -H "Authorization: Bearer $T" -o "$work/receipt.pdf" "$B/orders/$O/receipt"; }
eventually 60 "the receipt of order $O" receipt
head -c 5 "$work/receipt.pdf" | grep -q '%PDF-' || fail "the receipt is not a PDF"
api -H "Authorization: Bearer $T" "$B/orders/$O/payment" | jq -e 'select(.status == "captured")' >/dev/null ||
  fail "the payment is not captured"
mail() { podman exec "$(ctr worker)" sh -c 'ls /var/lib/emporium/mail/*.eml'; }
eventually 60 "the order's e-mail in the worker's spool" mail
# A bad request through nginx: problem+json from the API, not nginx's page.
status=$(curl -sS -o "$work/bad.json" -w '%{http_code}' -H 'Content-Type: application/json' -d '{"email":1}' \
  "$B/auth/register")
[ "$status" = 422 ] || [ "$status" = 400 ] || fail "bad input answered $status"
jq -e '.status and .title' "$work/bad.json" >/dev/null || fail "bad input did not answer problem+json"

phase "one API server stopped"
podman stop -t 20 "$(ctr api1)" >/dev/null
for i in $(seq 20); do
  api "$B/products?sort=rank&limit=1" >/dev/null || fail "a read failed with api1 stopped (request $i)"
done
api -H "Authorization: Bearer $T" "$B/orders/$O" | jq -e ".id == $O" >/dev/null || fail "order read with api1 stopped"
podman start "$(ctr api1)" >/dev/null
eventually 60 "api1 back" podman exec "$(ctr api1)" curl -fsS -o /dev/null http://127.0.0.1:8080/readyz

# Both API servers answered through nginx (its JSON access log names the upstream of each request).
upstreams=$(podman logs "$(ctr nginx)" 2>/dev/null | grep '^{' | jq -r 'select(.upstream_status == "200") | .upstream_addr' |
  tr ',' '\n' | tr -d ' ' | sort -u | grep -c . || true)
[ "$upstreams" -ge 2 ] || fail "nginx used $upstreams API server(s), not both"

phase "done"
rm -rf "$work"
echo "containers: the stack ran the shopping flow ($((SECONDS - began)) s in all)"
printf '  %s\n' "${phases[@]}"
