// SPDX-License-Identifier: Apache-2.0

//go:build !credgate_noreuse

package gcguard

// ReuseStreams lets the filter keep the storage of finished streams (their
// contexts, header buffers and pairs) for the next ones. Only the negative
// controls turn it off (build-wasm.sh --unpinned, --unguarded,
// --watchdog-only): see reuse_off.go.
const ReuseStreams = true
