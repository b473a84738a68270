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

# Usage: build-wasm.sh [OUT] [--unpinned|--unguarded|--watchdog-only|--floor]
# --unpinned builds a negative-control module whose allocator does not pin the
# buffers it hands the host; tests use it to prove the GC-pressure test detects
# the hazard the pinning prevents. --unguarded builds one without the collector
# guard (plugin/internal/gcguard); tests use it to prove the stall test
# reproduces the stuck collection; --watchdog-only keeps only its second line,
# to prove the watchdog alone corrects a stuck collection. --floor builds
# plugin/floor instead of the plugin: a bare module on the same SDK, adapter,
# overlay and flags, which the benchmarks measure as their floor. Never ship
# these. The three negative controls also keep no stream storage for reuse
# (credgate_noreuse, plugin/internal/gcguard/reuse_off.go).
# WASM_STRIP=0 keeps the name section (function names) so that
# `go run ./scripts/wasm-size OUT` can tell the bytes per Go package; never
# ship such a module (the budget is for the stripped one).
out=${1:-build/credgate.wasm}
variant=${2:-}
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
cp plugin/sdkabi/marker_stdgo.go plugin/sdkabi/metrics_stdgo.go build/sdk/proxywasm/
if [ "$variant" = "--unpinned" ]; then
  sed -i 's/^\tpinned = append(pinned, buf)$/\t_ = buf \/\/ negative control: not pinned/' build/sdk/proxywasm/internal/exports_stdgo.go
  grep -q "negative control: not pinned" build/sdk/proxywasm/internal/exports_stdgo.go || { echo "build-wasm: cannot unpin" >&2; exit 1; }
  echo "build-wasm: NEGATIVE CONTROL build without allocation pinning"
fi
tags=credgate_sdk
pkg=./plugin
case "$variant" in
  --floor)
    pkg=./plugin/floor
    echo "build-wasm: FLOOR build: bare SDK module (plugin/floor), for benchmarks" ;;
  --unguarded)
    tags=credgate_sdk,credgate_noyield,credgate_nowatchdog,credgate_noreuse
    echo "build-wasm: NEGATIVE CONTROL build without the collector guard" ;;
  --watchdog-only)
    tags=credgate_sdk,credgate_noyield,credgate_noreuse
    echo "build-wasm: NEGATIVE CONTROL build with the collector watchdog only" ;;
  --unpinned) tags=credgate_sdk,credgate_noreuse ;;
  "") ;;
  *) echo "build-wasm: unknown variant $variant" >&2; exit 2 ;;
esac

go_ver=$(go list -m -f '{{.GoVersion}}')
cat > build/wasm.work <<WORK
go $go_ver

use ..

replace $sdk_mod $sdk_ver => ./sdk
WORK

# mod_dir prints the module cache directory of a module of the build,
# downloading the module first when the cache does not hold it.
mod_dir() {
  local dir
  dir=$(go list -m -f '{{.Dir}}' "$1")
  if [ -z "$dir" ] || [ ! -d "$dir" ]; then
    go mod download "$1"
    dir=$(go list -m -f '{{.Dir}}' "$1")
  fi
  echo "$dir"
}

# gjson's @pretty modifier links github.com/tidwall/pretty, whose key sorting
# unescapes keys with encoding/json: that alone links the reflection-based
# JSON codec (about 600 KB of module). The plugin disables gjson modifiers at
# start (plugin/main.go), so the sorting is unreachable; the module is built
# with a copy of pretty whose parsestr no longer calls encoding/json. Native
# builds and tests use the module as published.
pretty_mod=github.com/tidwall/pretty
pretty_ver=$(go list -m -f '{{.Version}}' "$pretty_mod")
pretty_src=$(mod_dir "$pretty_mod")
rm -rf build/pretty
mkdir -p build/pretty
cp "$pretty_src/go.mod" "$pretty_src/LICENSE" "$pretty_src/pretty.go" build/pretty/
chmod -R u+w build/pretty
sed -i -e '/^\t\t\tvar str string$/{N;N;s/^\t\t\tvar str string\n\t\t\tjson.Unmarshal(s, &str)\n\t\t\treturn \[\]byte(str)$/\t\t\treturn s[1 : len(s)-1] \/\/ credgate: unreachable, gjson modifiers are disabled/}' \
  -e '/^\t"encoding\/json"$/d' build/pretty/pretty.go
if ! grep -q 'credgate: unreachable' build/pretty/pretty.go || grep -q 'encoding/json' build/pretty/pretty.go; then
  echo "build-wasm: cannot drop encoding/json from $pretty_mod $pretty_ver; update scripts/build-wasm.sh" >&2
  exit 1
fi
echo "replace $pretty_mod $pretty_ver => ./pretty" >> build/wasm.work

# gjson's stock modifier table ("@pretty", "@reverse", ...), built in an init,
# keeps every modifier's code, and pretty's, in the module (about 90 KB), and
# gjson (v1.20.1 here) ignores gjson.DisableModifiers (modifiers can only be turned
# off at build time). No path the plugin evaluates comes from configuration
# or a request (plugin/internal/config), so no modifier ever runs; the module
# is built with a copy of gjson whose stock table is empty and whose
# build-time switch (disableModifiers) is on. Native builds and tests use the
# module as published.
gjson_mod=github.com/tidwall/gjson
gjson_ver=$(go list -m -f '{{.Version}}' "$gjson_mod")
gjson_src=$(mod_dir "$gjson_mod")
rm -rf build/gjson
mkdir -p build/gjson
cp "$gjson_src/go.mod" "$gjson_src/LICENSE" "$gjson_src/gjson.go" build/gjson/
chmod -R u+w build/gjson
sed -i -e '/^\tstockModifiers = map\[string\]func(json, arg string) string{$/,/^\t}$/c\\tstockModifiers = map[string]func(json, arg string) string{} // credgate: no modifiers' \
  -e 's/^var disableModifiers = "false"\( .*\)\?$/var disableModifiers = "true" \/\/ credgate: modifiers off/' build/gjson/gjson.go
if ! grep -q 'credgate: no modifiers' build/gjson/gjson.go || ! grep -q 'credgate: modifiers off' build/gjson/gjson.go \
  || grep -q '"pretty": *modPretty' build/gjson/gjson.go; then
  echo "build-wasm: cannot turn off the modifiers of $gjson_mod $gjson_ver; update scripts/build-wasm.sh" >&2
  exit 1
fi
echo "replace $gjson_mod $gjson_ver => ./gjson" >> build/wasm.work

# nistec's P-256 keeps an 88 KB table of base-point multiples, read only by
# ScalarBaseMult and set up in an init, so it is in every module that links
# P-256. ES256 verification (plugin/internal/jose) multiplies the generator
# with ScalarMult instead, natively too, so ScalarBaseMult is never called;
# the module is built with a copy of nistec without the table, its init and
# ScalarBaseMult (deleted, nothing rewritten: a caller left anywhere would
# not compile). Native builds and tests use the module as published.
nistec_mod=filippo.io/nistec
nistec_ver=$(go list -m -f '{{.Version}}' "$nistec_mod")
nistec_src=$(mod_dir "$nistec_mod")
rm -rf build/nistec
cp -R "$nistec_src" build/nistec
chmod -R u+w build/nistec
find build/nistec -name '*_test.go' -delete
rm build/nistec/p256_table.go
awk '
  /^\/\/ p256GeneratorTables is a series of precomputed multiples of G/ { skip = 1 }
  skip && /^func \(p \*P256Point\) ScalarBaseMult\(/ { inbase = 1 }
  skip && inbase && /^}$/ { skip = 0; inbase = 0; print "// credgate: the base-point table, its init and the base-point multiplication are removed"; next }
  !skip && /^\t"unsafe"$/ { next }
  !skip && /^\t"golang.org\/x\/sys\/cpu"$/ { next }
  !skip { print }
' "$nistec_src/p256.go" > build/nistec/p256.go
if ! grep -q 'credgate: the base-point table' build/nistec/p256.go || grep -q 'p256PrecomputedEmbed\|ScalarBaseMult\|p256GeneratorTables' build/nistec/p256.go; then
  echo "build-wasm: cannot drop the P-256 base-point table from $nistec_mod $nistec_ver; update scripts/build-wasm.sh" >&2
  exit 1
fi
echo "replace $nistec_mod $nistec_ver => ./nistec" >> build/wasm.work

# The runtime's poll_oneoff import becomes a function inside the module that
# answers as the newest Envoy does: no event, at once. The plugin lets the Go
# scheduler run at the end of each stream (so the collector's workers run,
# see plugin/internal/gcguard); the scheduler then polls, and Envoy 1.33-1.37
# answer poll_oneoff with ENOSYS, which the runtime turns into a fatal error.
# Nothing in a Proxy-Wasm module may sleep on its worker thread anyway, so the
# module behaves the same on every Envoy. RATIONALE.md explains the choice.
goroot=$(go env GOROOT)
mkdir -p build/overlay
rt_src="$goroot/src/runtime/os_wasip1.go"
cp "$rt_src" build/overlay/os_wasip1.go
sed -i -e '/^\/\/go:wasmimport wasi_snapshot_preview1 poll_oneoff$/{N;N;s/^[^\n]*\n\/\/go:noescape\n\(func poll_oneoff(in \*subscription, out \*event, nsubscriptions size, nevents \*size) errno\)$/\/\/ credgate: answered in the module as the newest Envoy does (no event, at once).\n\1 {\n\t*nevents = 0\n\treturn 0\n}/}' \
  build/overlay/os_wasip1.go
if ! grep -q '^// credgate: answered in the module' build/overlay/os_wasip1.go || grep -q 'wasmimport wasi_snapshot_preview1 poll_oneoff' build/overlay/os_wasip1.go; then
  echo "build-wasm: cannot answer poll_oneoff in the module ($rt_src changed shape); update scripts/build-wasm.sh for this Go release" >&2
  exit 1
fi
printf '{"Replace":{"%s":"%s"}}\n' "$rt_src" "$PWD/build/overlay/os_wasip1.go" > build/overlay.json
echo "build-wasm: runtime overlay answers poll_oneoff in the module"

ldflags='-s -w -buildid='
if [ "${WASM_STRIP:-1}" = 0 ]; then
  ldflags='-buildid='
  echo "build-wasm: UNSTRIPPED build (WASM_STRIP=0), for scripts/wasm-size"
fi
echo "build-wasm: go build (GOOS=wasip1 GOARCH=wasm, c-shared)"
start=$(date +%s.%N)
GOWORK="$PWD/build/wasm.work" GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 \
  go build -buildmode=c-shared -trimpath -buildvcs=false -tags "$tags" -overlay build/overlay.json \
  -ldflags="$ldflags" -o "$out" "$pkg"
# Binaryen's wasm-opt shrinks and speeds up the code the Go compiler emits
# (about 9% less code, and 10-20% less guest time per request, measured in
# BenchmarkSchemes). The features are exactly those Go emits (sign extension,
# saturating float conversion, bulk memory, mutable globals), so the result
# asks no more of the host than the Go build does; wasm-opt validates it.
# Every variant goes through the same step, the floor included.
# Without wasm-opt the module still works: the build says so loudly and goes
# on (CI, where the size budget is tested, fails instead).
# The Binaryen release scripts/install-binaryen.sh puts in build/tools/ is
# preferred to any wasm-opt on PATH: the size budget is set with it, and
# Debian's older release (108) leaves the module about 80 KB larger.
wasm_opt=wasm-opt
if [ -n "${WASM_OPT_BIN:-}" ]; then
  wasm_opt=$WASM_OPT_BIN
elif [ -x build/tools/node_modules/.bin/wasm-opt ]; then
  wasm_opt=build/tools/node_modules/.bin/wasm-opt
fi
if [ "${WASM_OPT:-1}" != 0 ] && ! command -v "$wasm_opt" >/dev/null 2>&1; then
  echo "build-wasm: WARNING: wasm-opt not found: the module is NOT optimised (larger and slower; the size test fails)." >&2
  echo "build-wasm: run scripts/install-binaryen.sh (Binaryen 132 from npm, into build/tools), or set WASM_OPT=0 to silence this" >&2
  if [ -n "${CI:-}" ]; then exit 1; fi
  WASM_OPT=0
fi
if [ "${WASM_OPT:-1}" != 0 ]; then
  # -Oz, then GUFA (whole-module flow analysis: it finds, among others,
  # results that are always the same and the branches they decide), then
  # -Oz again on what that left: 22 KB less than -Oz alone.
  opt_flags=(-Oz --gufa-optimizing -Oz --mvp-features --enable-sign-ext --enable-nontrapping-float-to-int --enable-bulk-memory --enable-mutable-globals)
  if [ "${WASM_STRIP:-1}" = 0 ]; then
    opt_flags+=(-g) # keep the function names
  fi
  echo "build-wasm: $wasm_opt ${opt_flags[*]} ($("$wasm_opt" --version))"
  "$wasm_opt" "${opt_flags[@]}" "$out" -o "$out.opt"
  mv "$out.opt" "$out"
fi
end=$(date +%s.%N)
size=$(stat -c %s "$out")
sum=$(sha256sum "$out" | cut -c1-16)
printf 'build-wasm: %s  %d bytes (%.1f MiB)  sha256 %s…  %.1fs\n' "$out" "$size" \
  "$(echo "$size / 1048576" | bc -l)" "$sum" "$(echo "$end - $start" | bc -l)"
