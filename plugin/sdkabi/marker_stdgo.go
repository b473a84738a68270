// SPDX-License-Identifier: Apache-2.0

//go:build wasip1 && credgate_sdk

// This file is copied into the SDK's proxywasm package. The plugin refers to
// StdGoABI in its wasip1 build, so a build that forgot the adapter files fails
// to compile instead of silently linking the SDK's mock hostcalls.

package proxywasm

// StdGoABI is true when the standard-Go proxy-wasm adapter is compiled in.
const StdGoABI = true
