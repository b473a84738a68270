#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# make run: serve the demo on localhost:10000 and print one working curl per
# scheme. With a reachable Docker engine it runs the compose stack (real
# Envoy, e2e/docker-compose.yml); otherwise it starts, on the same ports, the
# token cluster (seeded with the demo credentials), the echo upstream and the
# embedded gateway (envoy/envoy.yaml on the hostcalls host). Ctrl-C stops
# everything.
#
# Environment:
#   CREDGATE_RUN_MODE           auto (default), docker or embedded
#   CREDGATE_GATEWAY_PORT       10000
#   CREDGATE_TOKENCLUSTER_PORT  9090
#   CREDGATE_ECHO_PORT          8080
#   CREDGATE_READY_TIMEOUT      seconds to wait for readiness (60)
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${CREDGATE_RUN_MODE:-auto}
gw_port=${CREDGATE_GATEWAY_PORT:-10000}
tc_port=${CREDGATE_TOKENCLUSTER_PORT:-9090}
echo_port=${CREDGATE_ECHO_PORT:-8080}
ready_timeout=${CREDGATE_READY_TIMEOUT:-60}
admin_token=dev-admin # the compose stack's TOKENCLUSTER_ADMIN_TOKEN
gw="localhost:$gw_port"

# print_curls prints one block per scheme: a comment naming the scheme, then
# commands that work as printed against the demo credentials.
print_curls() {
	local json="-H 'Content-Type: application/json'"
	cat <<EOF

credgate is serving http://$gw (demo credentials: tokencluster/testdata/credentials.json).
Paste any block below; each ends with a call the echo upstream answers,
showing the identity headers (x-credgate-*) it received and no credentials.

# oauth2_bearer: Zakeke C2S, issue a token at /token, then call /v1/designs
TOKEN=\$(curl -s -u demo-client:demo-client-secret -d grant_type=client_credentials $gw/token | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
curl -s $gw/v1/designs/7 -H "Authorization: Bearer \$TOKEN"

# oauth2_bearer: Zakeke S2S, a server token bound to a visitorcode, then POST /v2/order
S2S=\$(curl -s -u demo-client:demo-client-secret -d grant_type=client_credentials -d access_type=S2S -d visitorcode=v-1 $gw/token | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
curl -s -X POST $gw/v2/order -H "Authorization: Bearer \$S2S"

# oauth2_bearer: Zeamster OAuth on /v2/contacts, a client token with the developer-id the route requires
ZTOKEN=\$(curl -s -u demo-client:demo-client-secret -d grant_type=client_credentials $gw/token | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
curl -s $gw/v2/contacts -H "Authorization: Bearer \$ZTOKEN" -H 'developer-id: dev-1001'

# user_api_key: Zeamster user-id, user-api-key and developer-id
curl -s $gw/v2/contacts -H 'user-id: user-42' -H 'user-api-key: demo-user-api-key' -H 'developer-id: dev-1001'

# hmac: Zeamster hash-key = hex(HMAC-SHA256(user hash key, user-id + timestamp)), single use
ts=\$(date +%s); sig=\$(printf '%s' "user-42\$ts" | openssl dgst -sha256 -hmac demo-user-hmac-key | awk '{print \$NF}')
curl -s $gw/v2/accountvaults -H 'user-id: user-42' -H "timestamp: \$ts" -H "hash-key: \$sig"

# session_token: Zeamster login at /v2/token, then access-token (DELETE /v2/token/\$SESSION logs out)
SESSION=\$(curl -s $gw/v2/token $json -d '{"username":"pea","password":"demo-password","domain":"demo.acme.test"}' | sed -E 's/.*"token":"([^"]+)".*/\1/')
curl -s $gw/v2/contacts -H "access-token: \$SESSION"

# sso: Zeamster one-time login link (a second use is refused)
SSO=\$(curl -s $gw/v1/sso $json -d '{"user_id":"user-42","user_api_key":"demo-user-api-key","redirect_url":"https://app.example/v2/contactsso"}' | sed -E 's/.*"sso_token":"([^"]+)".*/\1/')
curl -s "$gw/v2/contactsso?sso-token=\$SSO"

# public_key: Marketcloud reads with the public key alone
curl -s $gw/v0/products -H 'Authorization: demo-public-key'

# public_key_token: Marketcloud POST /v0/tokens with secretKey = hex(sha256(secret key + timestamp ms)), then public-key:token
ts=\$(date +%s)000; proof=\$(printf '%s' "demo-secret-key\$ts" | openssl dgst -sha256 | awk '{print \$NF}')
MC=\$(curl -s $gw/v0/tokens $json -d "{\"publicKey\":\"demo-public-key\",\"secretKey\":\"\$proof\",\"timestamp\":\$ts}" | sed -E 's/.*"token":"([^"]+)".*/\1/')
curl -s $gw/v0/orders -H "Authorization: demo-public-key:\$MC"

# jwt: partner token (scope partner:orders), then POST /Orders/Create
PARTNER=\$(curl -s $gw/v1/partners/token $json -d '{"partner_id":"partner-7","partner_secret":"demo-partner-secret"}' | sed -E 's/.*"token":"([^"]+)".*/\1/')
curl -s -X POST $gw/Orders/Create -H "Authorization: Bearer \$PARTNER"

# jwt: customer login, then the storefront
CUSTOMER=\$(curl -s $gw/v1/customers/login $json -d '{"email":"customer@acme.test","password":"demo-customer-password"}' | sed -E 's/.*"token":"([^"]+)".*/\1/')
curl -s $gw/storefront/profile -H "Authorization: Bearer \$CUSTOMER"

# api_key: ApiKey header bound to the x-tenant header
curl -s $gw/Supplier/Products/List -H 'ApiKey: demo-api-key-0001' -H 'x-tenant: acme'

# domain_key: Znode Basic base64(domain|key)
curl -s $gw/products/12 -H "Authorization: Basic \$(printf '%s' 'shop.acme.test|demo-domain-key' | base64)"

# domain_key: Znode /categories runs with ValidateAuthHeader=false, so no Authorization is needed
curl -s $gw/categories/3

# forbidden: a valid ApiKey of tenant initech, which may not call the Supplier API (403, code 403)
curl -s -i $gw/Supplier/Products/List -H 'ApiKey: demo-api-key-0003' -H 'x-tenant: initech'

# refused: no credentials, 401 with the accepted schemes
curl -s -i $gw/v1/designs/7

EOF
}

docker_reachable() {
	command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1
}

# The token cluster's verification API needs a caller credential: a fresh
# one per run, given to the token cluster and, through the proxy's
# environment, to the plugin (envoy.yaml passes CREDGATE_VERIFY_TOKEN on).
CREDGATE_VERIFY_TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
export CREDGATE_VERIFY_TOKEN
export TOKENCLUSTER_VERIFY_TOKEN=$CREDGATE_VERIFY_TOKEN

if [ "$mode" = docker ] || { [ "$mode" = auto ] && docker_reachable; }; then
	echo "run: Docker engine reachable: starting the compose stack (Envoy, token cluster, echo upstream, Redis)"
	print_curls
	echo "(the curls work once the stack reports healthy; Ctrl-C stops it)"
	exec docker compose -f e2e/docker-compose.yml up --build
fi

echo "run: no Docker engine: token cluster :$tc_port, echo upstream :$echo_port, embedded gateway :$gw_port"
[ -f build/credgate.wasm ] || { echo "run: build/credgate.wasm is missing: run make build" >&2; exit 1; }
echo "run: building the token cluster, the echo upstream and the gateway"
mkdir -p build
go build -o build/tokencluster ./tokencluster
go build -o build/echo ./e2e/echo
go build -o build/gateway ./e2e/cmd/gateway

data=$(mktemp -d "${TMPDIR:-/tmp}/credgate-run.XXXXXX")
pids=()
cleanup() {
	trap - EXIT INT TERM
	echo
	echo "run: stopping"
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	rm -rf "$data"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

build/tokencluster serve --listen "127.0.0.1:$tc_port" --data "$data/tokencluster.db" \
	--seed tokencluster/testdata/credentials.json --admin-token "$admin_token" >"$data/tokencluster.log" 2>&1 &
pids+=($!)
build/echo --listen "127.0.0.1:$echo_port" >"$data/echo.log" 2>&1 &
pids+=($!)
build/gateway --listen "127.0.0.1:$gw_port" --wasm build/credgate.wasm \
	--cluster "token_cluster=http://127.0.0.1:$tc_port" --cluster "upstream_api=http://127.0.0.1:$echo_port" >"$data/gateway.log" 2>&1 &
pids+=($!)

# wait_ready polls each service's /healthz (the gateway's goes through the
# filter to the echo upstream) until the deadline.
wait_ready() {
	local deadline=$((SECONDS + ready_timeout)) name url pid
	for svc in "tokencluster $tc_port ${pids[0]}" "echo $echo_port ${pids[1]}" "gateway $gw_port ${pids[2]}"; do
		read -r name url pid <<<"$svc"
		until curl -fsS -o /dev/null "http://127.0.0.1:$url/healthz" 2>/dev/null; do
			if ! kill -0 "$pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
				echo "run: $name did not become ready; its log:" >&2
				cat "$data/$name.log" >&2
				return 1
			fi
			sleep 0.1
		done
	done
}
wait_ready
print_curls
echo "Logs: $data/{tokencluster,echo,gateway}.log. Admin API: http://127.0.0.1:$tc_port/admin/v1 (Bearer $admin_token)."
echo "Ctrl-C to stop."
# Ctrl-C reaches the services too; the flag tells that exit from a crash.
stopping=
trap 'stopping=1' INT TERM
while [ -z "$stopping" ]; do
	for pid in "${pids[@]}"; do
		if [ -z "$stopping" ] && ! kill -0 "$pid" 2>/dev/null; then
			echo "run: a service exited unexpectedly; last log lines:" >&2
			tail -n 5 "$data"/*.log >&2
			exit 1
		fi
	done
	sleep 0.5 || true # interrupted by Ctrl-C
done
exit 0
