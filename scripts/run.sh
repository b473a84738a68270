#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# make run: serve the demo on localhost:10000 and print one working curl per
# scheme. With a reachable Docker engine and Compose v2 it runs the compose
# stack (real Envoy, e2e/docker-compose.yml); otherwise it starts, on the
# same ports, the token cluster (seeded with the demo credentials), the echo
# upstream and the embedded gateway (envoy/envoy.yaml on the hostcalls host)
# with its Envoy-like admin interface. Ctrl-C stops everything.
#
# Before it builds or starts anything it checks that its ports are free, and
# fails naming the port and the process holding it. It reports ready only
# once the processes it started answer their health checks.
#
# Environment:
#   CREDGATE_RUN_MODE           auto (default), docker or embedded
#   CREDGATE_GATEWAY_PORT       10000
#   CREDGATE_TOKENCLUSTER_PORT  9090
#   CREDGATE_TOKENCLUSTER_METRICS_PORT 9091 (docker mode: the token cluster's /metrics)
#   CREDGATE_ECHO_PORT          8080 (embedded mode)
#   CREDGATE_ADMIN_PORT         9901 (embedded mode: /stats, /stats/prometheus, /ready)
#   CREDGATE_DATA_DIR           keep the token cluster's data (issued tokens, sessions,
#                               credentials made with the admin API) in this directory
#                               between runs (embedded mode); seeded on first use only.
#                               Default: a temporary directory removed on exit
#   CREDGATE_READY_TIMEOUT      seconds to wait for readiness (60)
#   CREDGATE_HEARTBEAT          seconds between "still running" lines of a long step (10)
#
# shellcheck disable=SC2317 # cleanup, ready, wait_ready and envoy_ready run from traps and step
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${CREDGATE_RUN_MODE:-auto}
gw_port=${CREDGATE_GATEWAY_PORT:-10000}
tc_port=${CREDGATE_TOKENCLUSTER_PORT:-9090}
echo_port=${CREDGATE_ECHO_PORT:-8080}
admin_port=${CREDGATE_ADMIN_PORT:-9901}
keep_data=${CREDGATE_DATA_DIR:-}
ready_timeout=${CREDGATE_READY_TIMEOUT:-60}
heartbeat=${CREDGATE_HEARTBEAT:-10}
admin_token=dev-admin # the compose stack's TOKENCLUSTER_ADMIN_TOKEN
gw="localhost:$gw_port"
started=$SECONDS

say() { echo "run: $*"; }
fail() {
	echo "run: $*" >&2
	exit 1
}

# step WHAT CMD...: runs CMD, saying so before and after, and every
# $heartbeat seconds while it runs, so that no long step is silent.
step() {
	local what=$1 start=$SECONDS pid next
	shift
	say "$what ..."
	"$@" &
	pid=$!
	next=$((start + heartbeat))
	while kill -0 "$pid" 2>/dev/null; do
		if [ $SECONDS -ge $next ]; then
			say "  ... still $what ($((SECONDS - start))s)"
			next=$((next + heartbeat))
		fi
		sleep 0.2
	done
	if ! wait "$pid"; then
		fail "$what failed after $((SECONDS - start))s"
	fi
	say "$what: done in $((SECONDS - start))s"
}

# port_busy PORT: something listens on PORT (any address).
port_busy() {
	if command -v ss >/dev/null 2>&1; then
		[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
	else
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
	fi
}

# port_holder PORT prints the listening process, as far as ss or lsof can tell.
port_holder() {
	local out=""
	if command -v ss >/dev/null 2>&1; then
		out=$(ss -Hltnp "sport = :$1" 2>/dev/null || true)
	fi
	if [[ "$out" != *users:* ]] && command -v lsof >/dev/null 2>&1; then
		out=$(lsof -nP -iTCP:"$1" -sTCP:LISTEN 2>/dev/null || true)
	fi
	if [ -z "$out" ]; then
		out="(neither ss nor lsof could name it; try: sudo ss -ltnp 'sport = :$1')"
	elif [[ "$out" != *users:* && "$out" != COMMAND* ]]; then
		out="$out (the process is not yours: sudo ss -ltnp 'sport = :$1' names it)"
	fi
	printf '%s\n' "$out" | sed 's/^/     /'
}

# check_ports NAME:PORT:VARIABLE...: every port is a number, distinct and
# free; otherwise it fails, naming each problem, before anything starts.
check_ports() {
	local spec name port var bad=0 seen=" "
	for spec in "$@"; do
		IFS=: read -r name port var <<<"$spec"
		if ! [[ "$port" =~ ^[0-9]+$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
			echo "run: $var=$port is not a port number" >&2
			bad=1
		elif [[ "$seen" == *" $port "* ]]; then
			echo "run: port $port is given twice (see $var)" >&2
			bad=1
		elif port_busy "$port"; then
			echo "run: port $port ($name, $var) is already in use by:" >&2
			port_holder "$port" >&2
			bad=1
		fi
		seen="$seen$port "
	done
	if [ $bad -ne 0 ]; then
		fail "nothing was started: stop what holds the port, or choose another with the variable named above"
	fi
}

# print_curls prints one block per scheme: a comment naming the scheme, then
# commands that work as printed against the demo credentials. Every call
# uses curl -fsS, so an error status fails visibly; a token that could not be
# obtained stops the block with a message instead of sending an empty one.
print_curls() {
	local json="-H 'Content-Type: application/json'"
	local none='see the error above'
	local tc="localhost:$tc_port"
	cat <<EOF

credgate is serving http://$gw (demo credentials: tokencluster/testdata/credentials.json).
Paste any block below; each ends with a call the echo upstream answers,
showing the identity headers (x-credgate-*) it received and no credentials.

# oauth2_bearer: Zakeke C2S, issue a token at /token, then call /v1/designs
TOKEN=\$(curl -fsS -u demo-client:demo-client-secret -d grant_type=client_credentials $gw/token | sed -nE 's/.*"access_token":"([^"]+)".*/\1/p')
curl -fsS $gw/v1/designs/7 -H "Authorization: Bearer \${TOKEN:?no token: $none}"

# oauth2_bearer: Zakeke S2S, a server token bound to a visitorcode, then POST /v2/order
S2S=\$(curl -fsS -u demo-client:demo-client-secret -d grant_type=client_credentials -d access_type=S2S -d visitorcode=v-1 $gw/token | sed -nE 's/.*"access_token":"([^"]+)".*/\1/p')
curl -fsS -X POST $gw/v2/order -H "Authorization: Bearer \${S2S:?no token: $none}"

# oauth2_bearer: Zeamster OAuth on /v2/contacts, a client token with the developer-id the route requires
ZTOKEN=\$(curl -fsS -u demo-client:demo-client-secret -d grant_type=client_credentials $gw/token | sed -nE 's/.*"access_token":"([^"]+)".*/\1/p')
curl -fsS $gw/v2/contacts -H "Authorization: Bearer \${ZTOKEN:?no token: $none}" -H 'developer-id: dev-1001'

# user_api_key: Zeamster user-id, user-api-key and developer-id
curl -fsS $gw/v2/contacts -H 'user-id: user-42' -H 'user-api-key: demo-user-api-key' -H 'developer-id: dev-1001'

# hmac: Zeamster hash-key = hex(HMAC-SHA256(user hash key, user-id + timestamp)), single use (needs openssl)
ts=\$(date +%s); sig=\$(printf '%s' "user-42\$ts" | openssl dgst -sha256 -hmac demo-user-hmac-key | awk '{print \$NF}')
curl -fsS $gw/v2/accountvaults -H 'user-id: user-42' -H "timestamp: \$ts" -H "hash-key: \${sig:?no signature: is openssl installed?}"

# session_token: Zeamster login at /v2/token, then access-token (DELETE /v2/token/\$SESSION logs out)
SESSION=\$(curl -fsS $gw/v2/token $json -d '{"username":"pea","password":"demo-password","domain":"demo.acme.test"}' | sed -nE 's/.*"token":"([^"]+)".*/\1/p')
curl -fsS $gw/v2/contacts -H "access-token: \${SESSION:?no session: $none}"

# sso: Zeamster one-time login link (a second use is refused)
SSO=\$(curl -fsS $gw/v1/sso $json -d '{"user_id":"user-42","user_api_key":"demo-user-api-key","redirect_url":"https://app.example/v2/contactsso"}' | sed -nE 's/.*"sso_token":"([^"]+)".*/\1/p')
curl -fsS "$gw/v2/contactsso?sso-token=\${SSO:?no sso token: $none}"

# public_key: Marketcloud reads with the public key alone
curl -fsS $gw/v0/products -H 'Authorization: demo-public-key'

# public_key_token: Marketcloud POST /v0/tokens with secretKey = hex(sha256(secret key + timestamp ms)), then public-key:token (needs openssl)
ts=\$(date +%s)000; proof=\$(printf '%s' "demo-secret-key\$ts" | openssl dgst -sha256 | awk '{print \$NF}')
MC=\$(curl -fsS $gw/v0/tokens $json -d "{\"publicKey\":\"demo-public-key\",\"secretKey\":\"\$proof\",\"timestamp\":\$ts}" | sed -nE 's/.*"token":"([^"]+)".*/\1/p')
curl -fsS $gw/v0/orders -H "Authorization: demo-public-key:\${MC:?no token: $none}"

# jwt: partner token (scope partner:orders), RS256-signed by the token cluster and verified with its key set (printed first), then POST /Orders/Create
curl -fsS $tc/.well-known/jwks.json; echo
PARTNER=\$(curl -fsS $gw/v1/partners/token $json -d '{"partner_id":"partner-7","partner_secret":"demo-partner-secret"}' | sed -nE 's/.*"token":"([^"]+)".*/\1/p')
echo "token header: \$(printf '%s' "\${PARTNER:?no token: $none}" | cut -d. -f1 | tr '_-' '/+' | base64 -d 2>/dev/null)"
curl -fsS -X POST $gw/Orders/Create -H "Authorization: Bearer \$PARTNER"

# jwt: key rotation without a restart: a new ES256 signing key at the token cluster signs the next token; the plugin fetches the key set when it meets the new kid (at most every 5 s per VM, hence the retries)
curl -fsS $tc/admin/v1/signing-keys -H "Authorization: Bearer $admin_token" $json -d '{"alg":"ES256"}'; echo
ROTATED=\$(curl -fsS $gw/v1/partners/token $json -d '{"partner_id":"partner-7","partner_secret":"demo-partner-secret"}' | sed -nE 's/.*"token":"([^"]+)".*/\1/p')
curl -fsS --retry 8 --retry-delay 1 --retry-all-errors -X POST $gw/Orders/Create -H "Authorization: Bearer \${ROTATED:?no token: $none}"

# jwt: customer login, then the storefront
CUSTOMER=\$(curl -fsS $gw/v1/customers/login $json -d '{"email":"customer@acme.test","password":"demo-customer-password"}' | sed -nE 's/.*"token":"([^"]+)".*/\1/p')
curl -fsS $gw/storefront/profile -H "Authorization: Bearer \${CUSTOMER:?no token: $none}"

# api_key: ApiKey header bound to the x-tenant header
curl -fsS $gw/Supplier/Products/List -H 'ApiKey: demo-api-key-0001' -H 'x-tenant: acme'

# domain_key: Znode Basic base64(domain|key)
curl -fsS $gw/products/12 -H "Authorization: Basic \$(printf '%s' 'shop.acme.test|demo-domain-key' | base64)"

# domain_key_unchecked: Znode /categories runs with ValidateAuthHeader=false, so no Authorization is needed (and nothing is verified)
curl -fsS $gw/categories/3

# forbidden: a valid ApiKey of tenant initech, which may not call the Supplier API (403, code 403; -i shows the status)
curl -sS -i $gw/Supplier/Products/List -H 'ApiKey: demo-api-key-0003' -H 'x-tenant: initech'

# refused: no credentials, 401 with the accepted schemes (-i shows the status and the challenge)
curl -sS -i $gw/v1/designs/7

EOF
}

docker_reachable() {
	command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1
}

compose_v2() {
	docker compose version >/dev/null 2>&1
}

case "$mode" in
auto)
	if docker_reachable; then
		if compose_v2; then
			mode=docker
		else
			say "a Docker engine is reachable but Compose v2 is not ('docker compose version' failed): using the embedded gateway"
			mode=embedded
		fi
	else
		mode=embedded
	fi
	;;
docker)
	docker_reachable || fail "CREDGATE_RUN_MODE=docker: no Docker engine is reachable ('docker info' failed)"
	compose_v2 || fail "CREDGATE_RUN_MODE=docker needs Compose v2 ('docker compose version' failed; the docker-compose v1 command is not supported)"
	;;
embedded) ;;
*) fail "CREDGATE_RUN_MODE=$mode: want auto, docker or embedded" ;;
esac

if [ "$mode" = docker ]; then
	check_ports "Envoy:$gw_port:CREDGATE_GATEWAY_PORT" "token cluster:$tc_port:CREDGATE_TOKENCLUSTER_PORT" "token cluster metrics:${CREDGATE_TOKENCLUSTER_METRICS_PORT:-9091}:CREDGATE_TOKENCLUSTER_METRICS_PORT"
else
	check_ports "gateway:$gw_port:CREDGATE_GATEWAY_PORT" "token cluster:$tc_port:CREDGATE_TOKENCLUSTER_PORT" \
		"echo upstream:$echo_port:CREDGATE_ECHO_PORT" "gateway admin:$admin_port:CREDGATE_ADMIN_PORT"
fi
command -v curl >/dev/null 2>&1 || fail "curl is required (readiness checks and the printed commands)"

# The token cluster's verification API needs a caller credential: a fresh
# one per run, given to the token cluster and, through the proxy's
# environment, to the plugin (envoy.yaml passes CREDGATE_VERIFY_TOKEN on).
CREDGATE_VERIFY_TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
export CREDGATE_VERIFY_TOKEN
export TOKENCLUSTER_VERIFY_TOKEN=$CREDGATE_VERIFY_TOKEN
mkdir -p build

# The first build compiles the standard library for wasip1 and every
# dependency; later ones take seconds (make rebuilds only what changed).
step "building the Wasm module (build/credgate.wasm; a cold first build takes minutes)" make --no-print-directory -s wasm

if [ "$mode" = docker ]; then
	export CREDGATE_GATEWAY_PORT=$gw_port CREDGATE_TOKENCLUSTER_PORT=$tc_port
	compose=(docker compose -f e2e/docker-compose.yml)
	[ -z "$keep_data" ] || say "CREDGATE_DATA_DIR applies to the embedded mode; the compose stack's Redis keeps no data between runs"
	cleanup() {
		trap - EXIT INT TERM
		echo
		say "stopping the compose stack"
		"${compose[@]}" down --remove-orphans >/dev/null 2>&1 || true
	}
	trap cleanup EXIT
	trap 'exit 0' INT TERM
	step "building the images and starting the compose stack (Envoy, token cluster, echo upstream, Redis)" \
		"${compose[@]}" up -d --build --wait
	envoy_ready() {
		local deadline=$((SECONDS + ready_timeout))
		until curl -fsS -o /dev/null "http://127.0.0.1:$gw_port/healthz" 2>/dev/null; do
			if [ "$SECONDS" -ge "$deadline" ]; then
				echo "run: Envoy did not answer on :$gw_port within ${ready_timeout}s; its log:" >&2
				"${compose[@]}" logs --tail 30 envoy >&2 || true
				return 1
			fi
			sleep 0.2
		done
	}
	step "waiting for Envoy to answer on :$gw_port" envoy_ready
	print_curls
	say "ready in $((SECONDS - started))s. Envoy's admin interface stays inside its container (loopback)."
	echo "Ctrl-C to stop."
	"${compose[@]}" logs -f --no-log-prefix envoy || true
	exit 0
fi

step "building the token cluster, the echo upstream and the gateway (a cold first build takes minutes)" bash -c \
	'go build -o build/tokencluster ./tokencluster && go build -o build/echo ./e2e/echo && go build -o build/gateway ./e2e/cmd/gateway'

logs=$(mktemp -d "${TMPDIR:-/tmp}/credgate-run.XXXXXX")
seed=(--seed tokencluster/testdata/credentials.json)
if [ -n "$keep_data" ]; then
	mkdir -p "$keep_data"
	data=$(cd "$keep_data" && pwd)
	if [ -f "$data/tokencluster.db" ]; then
		seed=()
		say "keeping the token cluster's data in $data (not seeded again; remove the directory to start afresh)"
	else
		say "keeping the token cluster's data in $data (seeded now, kept between runs)"
	fi
else
	data=$logs
fi
pids=()
cleanup() {
	trap - EXIT INT TERM
	echo
	say "stopping"
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	rm -rf "$logs"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

say "starting the token cluster :$tc_port, the echo upstream :$echo_port, the embedded gateway :$gw_port (admin :$admin_port)"
build/tokencluster serve --listen "127.0.0.1:$tc_port" --data "$data/tokencluster.db" \
	"${seed[@]}" --admin-token "$admin_token" >"$logs/tokencluster.log" 2>&1 &
pids+=($!)
build/echo --listen "127.0.0.1:$echo_port" >"$logs/echo.log" 2>&1 &
pids+=($!)
build/gateway --listen "127.0.0.1:$gw_port" --admin "127.0.0.1:$admin_port" --wasm build/credgate.wasm \
	--cluster "token_cluster=http://127.0.0.1:$tc_port" --cluster "upstream_api=http://127.0.0.1:$echo_port" >"$logs/gateway.log" 2>&1 &
pids+=($!)

# ready NAME PID LOGLINE URL: the process we started is alive, its own log
# says it listens on our address, and URL answers; so the answer is ours,
# not another listener's.
ready() {
	local name=$1 pid=$2 logline=$3 url=$4
	until grep -qF "$logline" "$logs/$name.log" 2>/dev/null && curl -fsS -o /dev/null "$url" 2>/dev/null; do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "run: $name exited before it was ready; its log:" >&2
			cat "$logs/$name.log" >&2
			return 1
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "run: $name did not become ready within ${ready_timeout}s; its log:" >&2
			cat "$logs/$name.log" >&2
			return 1
		fi
		sleep 0.1
	done
}
deadline=$((SECONDS + ready_timeout))
wait_ready() {
	ready tokencluster "${pids[0]}" "\"addr\":\"127.0.0.1:$tc_port\"" "http://127.0.0.1:$tc_port/healthz" &&
		ready echo "${pids[1]}" "\"addr\":\"127.0.0.1:$echo_port\"" "http://127.0.0.1:$echo_port/healthz" &&
		ready gateway "${pids[2]}" "\"msg\":\"admin listening\",\"addr\":\"127.0.0.1:$admin_port\"" "http://127.0.0.1:$admin_port/ready" &&
		ready gateway "${pids[2]}" "\"msg\":\"gateway listening\",\"addr\":\"127.0.0.1:$gw_port\"" "http://127.0.0.1:$gw_port/healthz"
}
step "waiting for the token cluster, the echo upstream and the gateway to answer (the gateway compiles the module on its first start)" wait_ready
print_curls
cat <<EOF
Stats, as Envoy's admin serves them:
  curl -fsS localhost:$admin_port/stats?filter=credgate
  curl -fsS localhost:$admin_port/stats/prometheus
Logs: $logs/{tokencluster,echo,gateway}.log. Admin API: http://127.0.0.1:$tc_port/admin/v1 (Bearer $admin_token).
EOF
say "ready in $((SECONDS - started))s"
echo "Ctrl-C to stop."
# Ctrl-C reaches the services too; the flag tells that exit from a crash.
stopping=
trap 'stopping=1' INT TERM
while [ -z "$stopping" ]; do
	for pid in "${pids[@]}"; do
		if [ -z "$stopping" ] && ! kill -0 "$pid" 2>/dev/null; then
			sleep 0.5 || true # a Ctrl-C that stopped it may not have reached the trap yet
			[ -z "$stopping" ] || break
			echo "run: a service exited unexpectedly; last log lines:" >&2
			tail -n 5 "$logs"/*.log >&2
			exit 1
		fi
	done
	sleep 0.5 || true # interrupted by Ctrl-C
done
exit 0
