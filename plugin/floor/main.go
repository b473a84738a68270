// SPDX-License-Identifier: Apache-2.0

// Command floor is the benchmarks' floor: a bare proxy-wasm module on the
// same SDK (proxy-wasm-go-sdk, standard Go, the plugin/sdkabi adapter) and
// built by the same pipeline as the plugin (`scripts/build-wasm.sh OUT
// --floor`), whose HTTP context continues every callback and does nothing
// else. What a request costs through it is what the Go runtime, the SDK and
// the host cost before any plugin logic runs; `make bench` measures it next
// to the plugin in every table. Never deploy it: it checks nothing.
package main

import (
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"
)

func main() {}

func init() { proxywasm.SetVMContext(&vmContext{}) }

type vmContext struct{ types.DefaultVMContext }

func (*vmContext) NewPluginContext(uint32) types.PluginContext { return &pluginContext{} }

type pluginContext struct{ types.DefaultPluginContext }

func (*pluginContext) NewHttpContext(uint32) types.HttpContext { return &types.DefaultHttpContext{} }
