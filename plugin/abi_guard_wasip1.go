// SPDX-License-Identifier: Apache-2.0

package main

import "github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"

// A wasip1 build without the standard-Go adapter (see plugin/sdkabi) would
// link the SDK's mock hostcalls and export nothing but _initialize. Referring
// to the adapter's marker makes such a build fail to compile instead.
var _ = proxywasm.StdGoABI
