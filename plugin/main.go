// SPDX-License-Identifier: Apache-2.0

// Command plugin is the credgate proxy-wasm module.
//
// It is built as a WASI reactor (`-buildmode=c-shared`), so main never runs:
// the host calls `_initialize`, which runs init, and then the proxy-wasm
// callbacks. Envoy allows no proxy_* call but proxy_log while `_initialize`
// runs, so init only registers the VM context; all setup happens in
// OnVMStart and OnPluginStart.
package main

import (
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"

	"github.com/credgate/credgate/plugin/internal/filter"
)

func main() {}

func init() { proxywasm.SetVMContext(filter.NewVMContext()) }
