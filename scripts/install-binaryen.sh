#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Binaryen release the module build is tuned for into the
# git-ignored build/tools/ (from the npm registry: Binaryen compiled to Wasm,
# run by Node.js). scripts/build-wasm.sh prefers it to any wasm-opt on PATH.
# Debian's binaryen (108) also works, but its -Oz leaves the module about
# 80 KB larger, over the size budget (plugin/size_test.go).
set -euo pipefail
cd "$(dirname "$0")/.."

version=132.0.0
bin=build/tools/node_modules/.bin/wasm-opt
if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "version ${version%%.*}\b"; then
  echo "install-binaryen: $("$bin" --version) already in build/tools"
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "install-binaryen: npm not found (install Node.js)" >&2; exit 1; }
mkdir -p build/tools
echo "install-binaryen: npm install binaryen@$version into build/tools"
npm install --prefix build/tools --save-exact --no-audit --no-fund --loglevel=error "binaryen@$version" >/dev/null
echo "install-binaryen: $("$bin" --version)"
