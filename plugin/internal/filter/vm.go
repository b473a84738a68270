// SPDX-License-Identifier: Apache-2.0

// Package filter is the only package that talks to the proxy (proxy-wasm
// SDK). It turns proxy callbacks into calls to the plain-Go policy and
// verifiers, and their decisions into header mutations or local replies.
package filter

import (
	"time"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/credgate/credgate/plugin/internal/config"
)

// NewVMContext returns the plugin's VM context, reading the proxy's clock.
func NewVMContext() types.VMContext { return NewVMContextWithClock(time.Now) }

// NewVMContextWithClock returns a VM context whose verifications use now as
// the clock. Tests that run the filter in-process pin time with it.
func NewVMContextWithClock(now func() time.Time) types.VMContext {
	return &vmContext{now: now}
}

type vmContext struct {
	types.DefaultVMContext
	now func() time.Time
}

func (vm *vmContext) NewPluginContext(uint32) types.PluginContext {
	return &pluginContext{now: vm.now}
}

// pluginContext holds the frozen configuration of one plugin instance.
type pluginContext struct {
	types.DefaultPluginContext
	cfg *config.Config
	now func() time.Time
}

// OnPluginStart parses and validates the configuration. An invalid
// configuration makes the proxy refuse the plugin, with the reason logged.
func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	data, err := proxywasm.GetPluginConfiguration()
	if err != nil && err != types.ErrorStatusNotFound {
		proxywasm.LogCriticalf("credgate: cannot read the plugin configuration: %v", err)
		return types.OnPluginStartStatusFailed
	}
	cfg, err := config.Parse(data)
	if err != nil {
		proxywasm.LogCriticalf("credgate: invalid configuration: %v", err)
		return types.OnPluginStartStatusFailed
	}
	p.cfg = cfg
	proxywasm.LogInfof("credgate: configured %d routes", len(cfg.Policy.Routes))
	return types.OnPluginStartStatusOK
}

func (p *pluginContext) NewHttpContext(uint32) types.HttpContext {
	return &httpContext{cfg: p.cfg, now: p.now}
}
