// SPDX-License-Identifier: Apache-2.0

// Package filter is the only package that talks to the proxy (proxy-wasm
// SDK). It turns proxy callbacks into calls to the plain-Go policy and
// verifiers, and their decisions into header mutations or local replies.
package filter

import (
	"os"
	"time"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/credgate/credgate/plugin/internal/cache"
	"github.com/credgate/credgate/plugin/internal/config"
	"github.com/credgate/credgate/plugin/internal/gcguard"
	"github.com/credgate/credgate/plugin/internal/scheme"
	"github.com/credgate/credgate/plugin/internal/stamp"
	"github.com/credgate/credgate/plugin/internal/textf"
)

// NewVMContext returns the plugin's VM context, reading the proxy's clock.
func NewVMContext() types.VMContext { return &vmContext{clock: wallClock} }

// wallClock reads the proxy's clock: the wall clock, kept from going back
// by the monotonic clock (stamp.Steady), with one reading of both.
func wallClock() stamp.Stamp {
	t := time.Now()
	if clockOrigin.IsZero() {
		clockOrigin = t
	}
	return steady.Read(stamp.Of(t), int64(t.Sub(clockOrigin)))
}

var (
	clockOrigin time.Time // the monotonic clock's origin: the first reading (one VM per module instance)
	steady      stamp.Steady
)

// NewVMContextWithClock returns a VM context whose verifications use now as
// the clock. Tests that run the filter in-process pin time with it.
func NewVMContextWithClock(now func() time.Time) types.VMContext {
	return &vmContext{clock: func() stamp.Stamp { return stamp.Of(now()) }}
}

// A clock reads the time as a Stamp: no context holds a time.Time (see
// package stamp).
type clock func() stamp.Stamp

func (c clock) now() time.Time { return c().Time() }

type vmContext struct {
	types.DefaultVMContext
	clock clock
}

func (vm *vmContext) NewPluginContext(uint32) types.PluginContext {
	return &pluginContext{clock: vm.clock}
}

// pluginContext holds the frozen configuration of one plugin instance and
// the per-VM state shared by its streams: the cache, the revocation cursor
// and the metrics.
type pluginContext struct {
	types.DefaultPluginContext
	clock
	cfg     *config.Config
	cache   *cache.LRU
	metrics metrics
	revoke  revocationFeed
	gc      *gcguard.Guard
	slot    *gcguard.Slot
	gauges  gcguard.Gauges
	revoked cache.Revoked
	key     []byte // scratch for cache keys (authn.Lookup.AppendKey)
	call    scheme.CallBuffers
	free    []*httpContext // deleted stream contexts for reuse (httpContext.StdGoDeleted)
	calls   []*clusterCall // answered call records for reuse
	slotKey []byte         // shared-data keys of answer lookups (slots.Table.GetInto)
	// refreshes wait for the tick: a call from a stream ends with it.
	refreshes cache.Refreshes
}

// OnPluginStart parses and validates the configuration. An invalid
// configuration makes the proxy refuse the plugin, with the reason logged.
func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	data, err := proxywasm.GetPluginConfiguration()
	if err != nil && err != types.ErrorStatusNotFound {
		proxywasm.LogCritical(textf.Sprintf("credgate: cannot read the plugin configuration: %v", err))
		return types.OnPluginStartStatusFailed
	}
	cfg, err := config.ParseEnv(data, config.Env{Replay: sharedReplay{clock: p.clock}, Getenv: os.Getenv})
	if err != nil {
		proxywasm.LogCritical(textf.Sprintf("credgate: invalid configuration: %v", err))
		return types.OnPluginStartStatusFailed
	}
	p.cfg = cfg
	p.cache = cache.New(cache.Policy{MaxEntries: cfg.Cache.MaxEntries, MaxTTL: cfg.Cache.MaxTTL,
		NegativeTTL: cfg.Cache.NegativeTTL, StaleWindow: cfg.Cache.StaleWindow})
	p.metrics = newMetrics()
	p.gc = gcguard.New(memCheckEvery)
	p.revoked.Keep = cfg.Cache.MaxTTL + cfg.Cache.StaleWindow
	answerTable.Size, replayTable.Size = uint32(cfg.Cache.SharedSlots), uint32(cfg.Cache.ReplaySlots)
	if tick := cfg.TickPeriod(); tick > 0 {
		if err := proxywasm.SetTickPeriodMilliSeconds(uint32(tick / time.Millisecond)); err != nil {
			proxywasm.LogCritical(textf.Sprintf("credgate: cannot schedule revocation polling: %v", err))
			return types.OnPluginStartStatusFailed
		}
	}
	proxywasm.LogInfo(textf.Sprintf("credgate: configured %d routes", len(cfg.Policy.Routes)))
	return types.OnPluginStartStatusOK
}

// OnTick polls the token cluster's revocation feed and refreshes the memory
// gauges.
func (p *pluginContext) OnTick() {
	p.pollRevocations()
	p.refreshKeys()
	p.sendRefreshes()
	gcguard.Yield()
	p.checkMemory()
}

func (p *pluginContext) NewHttpContext(id uint32) types.HttpContext {
	if n := len(p.free); n > 0 {
		h := p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
		*h = httpContext{id: id, plugin: p, cfg: p.cfg, clock: p.clock, pairs: h.pairs[:0], hdrs: h.hdrs, req: h.req}
		return h
	}
	return &httpContext{id: id, plugin: p, cfg: p.cfg, clock: p.clock}
}
