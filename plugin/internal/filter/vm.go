// SPDX-License-Identifier: Apache-2.0

package filter

import (
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"
)

// NewVMContext returns the plugin's VM context.
func NewVMContext() types.VMContext { return &vmContext{} }

type vmContext struct{ types.DefaultVMContext }

func (*vmContext) NewPluginContext(uint32) types.PluginContext { return &pluginContext{} }

type pluginContext struct{ types.DefaultPluginContext }

func (p *pluginContext) OnPluginStart(size int) types.OnPluginStartStatus {
	cfg, err := proxywasm.GetPluginConfiguration()
	if err != nil {
		proxywasm.LogCriticalf("credgate: %v", err)
		return types.OnPluginStartStatusFailed
	}
	proxywasm.LogInfof("credgate: configuration %q", cfg)
	return types.OnPluginStartStatusOK
}
