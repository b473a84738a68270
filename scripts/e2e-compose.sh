#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make e2e: the end-to-end table against real Envoy in docker compose
# (e2e/docker-compose.yml). Without a reachable Docker engine it says so and
# exits 0: `make test` runs the same cases on the embedded gateway.
#
# Environment:
#   ENVOY_IMAGE          Envoy image (default envoyproxy/envoy:v1.39.0)
#   ENVOY_IMAGES         space-separated images to run the suite on, one after
#                        the other (default: ENVOY_IMAGE)
#   E2E_READY_TIMEOUT    seconds to wait for readiness (default 180)
# Extra arguments are passed to `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
  echo "e2e: no Docker engine reachable; skipping the compose suite (make test runs the same cases on the embedded gateway)"
  exit 0
fi
if ! docker compose version >/dev/null 2>&1; then
  echo "e2e: a Docker engine is reachable but 'docker compose' (Compose v2) is not installed" >&2
  exit 1
fi
if [ ! -f build/credgate.wasm ]; then
  echo "e2e: build/credgate.wasm is missing; run 'make build' (make e2e does)" >&2
  exit 1
fi
command -v curl >/dev/null 2>&1 || { echo "e2e: curl is needed to poll readiness" >&2; exit 1; }

compose=(docker compose -f e2e/docker-compose.yml)
# A fresh verification API credential per run: compose gives it to the token
# cluster (TOKENCLUSTER_VERIFY_TOKEN) and to Envoy's environment, whence the
# plugin reads it (vm_config.environment_variables); the suite sends it on
# its own calls to that API.
CREDGATE_VERIFY_TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
export CREDGATE_VERIFY_TOKEN
ready_timeout=${E2E_READY_TIMEOUT:-180}

# wait_for polls url until it answers 2xx or the deadline passes.
wait_for() {
  local url=$1 deadline=$((SECONDS + ready_timeout))
  until curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      echo "e2e: $url not ready after ${ready_timeout}s" >&2
      return 1
    fi
    sleep 1
  done
  echo "e2e: $url ready"
}

# run_suite brings the stack up on one Envoy image, runs the table and always
# tears the stack down; it dumps the logs when anything failed.
run_suite() {
  set -euo pipefail
  export ENVOY_IMAGE=$1
  shift
  cleanup() {
    local rc=$?
    if [ "$rc" -ne 0 ]; then
      echo "e2e: FAILED on $ENVOY_IMAGE (exit $rc); compose logs follow" >&2
      "${compose[@]}" logs --no-color --timestamps || true
    fi
    "${compose[@]}" down -v --remove-orphans || true
    exit "$rc"
  }
  trap cleanup EXIT
  trap 'exit 130' INT TERM

  echo "e2e: starting the stack on $ENVOY_IMAGE"
  "${compose[@]}" up -d --build
  # /healthz goes through the Wasm filter: ready means the plugin runs. The
  # admin interface is not published (loopback inside the container).
  wait_for http://localhost:10000/healthz
  CREDGATE_E2E_TARGET=http://localhost:10000 \
    CREDGATE_E2E_TOKENCLUSTER=http://localhost:9090 \
    CREDGATE_E2E_ADMIN_TOKEN=dev-admin \
    go test -count=1 -run TestE2E ./e2e/ "$@"
}

status=0
for image in ${ENVOY_IMAGES:-${ENVOY_IMAGE:-envoyproxy/envoy:v1.39.0}}; do
  # A subshell per image so that its EXIT trap tears down exactly that run.
  set +e
  (run_suite "$image" "$@")
  rc=$?
  set -e
  if [ "$rc" -ne 0 ]; then
    status=$rc
    [ "$rc" -eq 130 ] && break
  fi
done
exit "$status"
