// SPDX-License-Identifier: Apache-2.0

package filter

import (
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/credgate/credgate/plugin/internal/gcguard"
	"github.com/credgate/credgate/plugin/internal/textf"
)

// memCheckEvery is how many streams pass between two memory checks.
const memCheckEvery = 64

// afterStream runs when a stream ends: the collector gets its turn, and
// every memCheckEvery streams the memory gauges are refreshed.
func (p *pluginContext) afterStream() {
	if p.gc.AfterStream() {
		p.checkMemory()
	}
}

// checkMemory never fails the VM: a failing stats call is logged.
func (p *pluginContext) checkMemory() {
	defer func() {
		if r := recover(); r != nil {
			proxywasm.LogError(textf.Sprintf("credgate: cannot publish memory stats: %v", r))
		}
	}()
	p.publishMemory()
}

// publishMemory corrects a stuck collection and publishes the VM's memory
// gauges (statname lists them; README "Memory"); <slot> is a small number
// per VM (0-63, else "overflow"), see gcguard.Slot.
func (p *pluginContext) publishMemory() {
	s, corrected := p.gc.Check()
	if p.slot == nil {
		p.slot = gcguard.ClaimSlot(sharedStore{}, gcguard.VMIdentity(), p.now())
	} else {
		p.slot.Renew(p.now())
	}
	prefix := "credgate.vm." + p.slot.Name() + "."
	if corrected {
		p.metrics.inc(prefix + "gc_corrections")
		proxywasm.LogWarn(textf.Sprintf("credgate: the Go collector was stuck; ran a full collection (heap %d bytes, goal %d, linear memory %d)",
			s.HeapBytes, s.HeapGoal, s.LinearMemory))
	}
	p.metrics.set(prefix+"heap_bytes", s.HeapBytes)
	p.metrics.set(prefix+"heap_goal_bytes", s.HeapGoal)
	p.metrics.set(prefix+"gc_cycles", s.Cycles)
	p.metrics.set(prefix+"linear_memory_bytes", s.LinearMemory)
}

// sharedStore is the proxy's shared data as gcguard.Store.
type sharedStore struct{}

func (sharedStore) Get(key string) ([]byte, uint32, bool, error) {
	v, cas, err := proxywasm.GetSharedData(key)
	if err == types.ErrorStatusNotFound {
		return nil, 0, false, nil
	}
	return v, cas, err == nil, err
}

func (sharedStore) Set(key string, value []byte, cas uint32) error {
	return proxywasm.SetSharedData(key, value, cas)
}
