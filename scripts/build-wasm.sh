#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Builds build/credgate.wasm with the standard Go toolchain.
#
# The proxy-wasm Go SDK targets TinyGo. We copy the SDK module out of the module
# cache into build/sdk, swap its two hostcall files for our adapter
# (plugin/sdkabi), and build the plugin through a Go workspace that replaces the
# SDK with that copy. See plugin/sdkabi/README.md and RATIONALE.md.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-build/credgate.wasm}
sdk_mod=github.com/tetratelabs/proxy-wasm-go-sdk
sdk_ver=$(go list -m -f '{{.Version}}' "$sdk_mod")
sdk_src=$(go list -m -f '{{.Dir}}' "$sdk_mod")
if [ -z "$sdk_src" ] || [ ! -d "$sdk_src" ]; then
  echo "build-wasm: downloading $sdk_mod $sdk_ver"
  go mod download "$sdk_mod"
  sdk_src=$(go list -m -f '{{.Dir}}' "$sdk_mod")
fi

echo "build-wasm: preparing SDK copy ($sdk_mod $sdk_ver) in build/sdk"
rm -rf build/sdk
mkdir -p build/sdk
cp -R "$sdk_src/go.mod" "$sdk_src/go.sum" "$sdk_src/LICENSE" "$sdk_src/proxywasm" build/sdk/
chmod -R u+w build/sdk
rm -rf build/sdk/proxywasm/proxytest
rm build/sdk/proxywasm/internal/abi_hostcalls.go build/sdk/proxywasm/internal/abi_hostcalls_mock.go
find build/sdk/proxywasm -name '*_test.go' -delete
cp plugin/sdkabi/hostcalls_stdgo.go plugin/sdkabi/hostcalls2_stdgo.go plugin/sdkabi/exports_stdgo.go \
  build/sdk/proxywasm/internal/
cp plugin/sdkabi/marker_stdgo.go build/sdk/proxywasm/

go_ver=$(go list -m -f '{{.GoVersion}}')
cat > build/wasm.work <<WORK
go $go_ver

use ..

replace $sdk_mod $sdk_ver => ./sdk
WORK

echo "build-wasm: go build (GOOS=wasip1 GOARCH=wasm, c-shared)"
start=$(date +%s.%N)
GOWORK="$PWD/build/wasm.work" GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 \
  go build -buildmode=c-shared -trimpath -buildvcs=false -tags credgate_sdk \
  -ldflags='-s -w -buildid=' -o "$out" ./plugin
end=$(date +%s.%N)
size=$(stat -c %s "$out")
sum=$(sha256sum "$out" | cut -c1-16)
printf 'build-wasm: %s  %d bytes (%.1f MiB)  sha256 %s…  %.1fs\n' "$out" "$size" \
  "$(echo "$size / 1048576" | bc -l)" "$sum" "$(echo "$end - $start" | bc -l)"
