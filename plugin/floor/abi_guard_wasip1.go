// SPDX-License-Identifier: Apache-2.0

package main

import "github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"

// As in the plugin: a wasip1 build without the standard-Go adapter fails to
// compile instead of linking the SDK's mock hostcalls.
var _ = proxywasm.StdGoABI
