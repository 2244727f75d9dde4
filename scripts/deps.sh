#!/usr/bin/env bash
# Installs what building, running and testing Emporium needs on Debian 12: one pinned list of apt
# packages (versions as shipped by Debian 12 "bookworm") and the npm packages of package-lock.json.
# Idempotent: only missing packages are installed. Needs root or sudo for apt.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

# name  (minimum version we build and test with)
APT_PACKAGES=(
  build-essential        # g++ 12
  cmake                  # >= 3.25
  ninja-build
  ccache
  pkg-config
  git
  libboost1.81-dev       # Asio, Beast (header-only)
  libboost-json1.81-dev
  libboost-url1.81-dev
  libpq-dev              # libpq 15
  postgresql-15          # server + contrib (pg_trgm, citext) for local runs and tests
  postgresql-client-15
  redis-server           # Redis 7.0
  redis-tools
  libhiredis-dev         # 0.14 (redisReader)
  libsodium-dev          # 1.0.18 (Argon2id, randomness)
  libjwt-dev             # 1.10
  libcurl4-openssl-dev   # SMTP + payment provider HTTPS
  libssl-dev             # SHA-1 for Redis script digests, HMAC
  libhpdf-dev            # PDF receipts
  libspdlog-dev          # 1.10
  libfmt-dev
  libcli11-dev           # 2.1
  libgtest-dev           # 1.12
  libgmock-dev
  libbenchmark-dev       # 1.7
  clang-14               # fuzz targets (make fuzz): clang++-14 with libFuzzer
  libclang-rt-14-dev     # libclang_rt.fuzzer / asan / ubsan runtimes
  clang-tidy-14          # make lint (.clang-tidy)
  llvm-14                # llvm-symbolizer, for readable sanitizer stack traces
  wrk                    # load tests (bench/)
  nginx-light            # reference static server (bench/) and the scale-out test
  poppler-utils          # pdftotext, for receipt tests
  python3-aiosmtpd       # a real SMTP server for e-mail tests
  curl
  jq                     # bench scripts parse JSON
  openssl                # the README tour signs a webhook (openssl dgst -hmac)
  procps
  chromium               # the browser tests (tests/browser/, driven by playwright-core)
)

# `deps.sh containers` also installs what `make test-containers` needs (scripts/containers.sh): podman
# with runc (crun cannot set the containers' rlimits on every host), podman-compose, the CNI
# plugins with container name resolution, and mmdebstrap for the base image.
CONTAINER_PACKAGES=(
  podman                 # 4.3
  podman-compose         # 1.0.3
  runc
  containernetworking-plugins
  golang-github-containernetworking-plugin-dnsname   # service names resolve between containers
  iptables
  uidmap
  mmdebstrap             # the debian:12 base image, made locally (no registry pull)
)
wanted=("${APT_PACKAGES[@]}")
if [ "${1:-}" = containers ]; then wanted+=("${CONTAINER_PACKAGES[@]}"); fi

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

missing=()
# Node.js may come from another repository that bundles npm; only ask apt when npm is absent.
if ! command -v npm >/dev/null 2>&1; then missing+=(nodejs npm); fi
for p in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then missing+=("$p"); fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # policy-rc.d keeps Debian from auto-starting system services (nginx, redis, postgres) on
  # install: we run our own instances on our own ports.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# promtool, which checks and unit-tests deploy/prometheus/ in `make test`: taken from Debian's
# prometheus package and unpacked under .local/tools, not installed (installing would add a
# Prometheus server to the machine's services).
promtool="$root/.local/tools/prometheus/usr/bin/promtool"
if [ ! -x "$promtool" ]; then
  echo "deps: unpacking promtool from Debian's prometheus package"
  tmp=$(mktemp -d)
  if ! (cd "$tmp" && apt-get download prometheus >/dev/null 2>&1); then
    $SUDO apt-get update -qq
    (cd "$tmp" && apt-get download prometheus >/dev/null 2>&1)
  fi
  mkdir -p "$root/.local/tools/prometheus"
  dpkg-deb -x "$tmp"/prometheus_*.deb "$root/.local/tools/prometheus"
  rm -rf "$tmp"
fi

# npm packages, versions pinned in package.json / package-lock.json: Swagger UI for /docs, the
# storefront's and the console's libraries and bundler (Preact, @preact/signals, uPlot, esbuild),
# the contract tests' tools (Redocly CLI, openapi-typescript, TypeScript, ajv, ajv-formats) and the
# browser tests' (playwright-core, axe-core). `npm ci`
# runs again whenever package-lock.json differs from the one node_modules was installed from (its
# hash is kept in node_modules), so a pin changed by a pull also changes what is installed.
lock_hash=$(sha256sum "$root/package-lock.json" | cut -d' ' -f1)
marker="$root/node_modules/.emporium-package-lock.sha256"
if [ ! -f "$marker" ] || [ "$(cat "$marker")" != "$lock_hash" ]; then
  echo "deps: installing npm packages"
  (cd "$root" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$lock_hash" >"$marker"
fi
