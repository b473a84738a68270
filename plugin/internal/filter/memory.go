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

// afterStream runs when a stream ends: the collector gets its turn, and the
// memory gauges are refreshed every memCheckEvery streams while memory grows
// or is large for the heap goal (gcguard.SteadyChecks times that otherwise).
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
	name := p.slot.Name()
	if corrected {
		p.metrics.inc("credgate.vm." + name + ".gc_corrections")
		proxywasm.LogWarn(textf.Sprintf("credgate: the Go collector was stuck; ran a full collection (heap %d bytes, goal %d, linear memory %d)",
			s.HeapBytes, s.HeapGoal, s.LinearMemory))
	}
	if name != p.gauges.Slot {
		p.addGauges(p.gauges.Retract())
		for i, n := range gcguard.GaugeNames {
			p.gauges.IDs[i] = defineMetric(metricGauge, "credgate.vm."+name+"."+n)
		}
		p.gauges.Slot = name
	}
	p.addGauges(p.gauges.Deltas(s))
}

// addGauges adds d to the memory gauges: a VM's gauges hold the sum of what
// the VMs of its slot added (gcguard.Gauges), so no reading is needed.
func (p *pluginContext) addGauges(d [len(gcguard.GaugeNames)]int64) {
	for i, v := range d {
		if v != 0 {
			metricAdd(p.gauges.IDs[i], v)
		}
	}
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
