#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# test-tools.sh names, loudly, the tools `make test` did not find and the
# suites that therefore skip instead of running. It never fails: CI
# (.ci/run) installs redis-server, and the Redis suites fail there without it.
set -uo pipefail

missing=0
need() {
	local tool=$1 suites=$2 install=$3
	if ! command -v "$tool" >/dev/null 2>&1; then
		[ $missing -eq 1 ] || echo "test: ======================================================================"
		echo "test: WARNING: $tool is not installed: SKIPPED $suites ($install)"
		missing=1
	fi
}
need redis-server "the token cluster's Redis store, throttle and replica tests" "apt-get install redis-server"
need curl "the make run test (TestRunScript*) and its printed commands" "apt-get install curl"
need openssl "the make run test's HMAC and Marketcloud blocks (TestRunScript)" "apt-get install openssl"
need shellcheck "the lint of scripts/run.sh (TestRunScriptShellcheck)" "apt-get install shellcheck"
if [ $missing -eq 1 ]; then
	echo "test: ======================================================================"
fi
exit 0
