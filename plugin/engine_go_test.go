// SPDX-License-Identifier: Apache-2.0

package main

import (
	"testing"
	"time"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/credgate/credgate/plugin/internal/filter"
)

// goEngine runs the filter in-process on the SDK's proxytest host. proxytest
// keeps one global host, so its tests do not run in parallel.
type goEngine struct {
	host proxytest.HostEmulator
}

func newGoEngine(t *testing.T, config string, now time.Time) *goEngine {
	opt := proxytest.NewEmulatorOption().
		WithVMContext(filter.NewVMContextWithClock(func() time.Time { return now })).
		WithPluginConfiguration([]byte(config))
	host, reset := proxytest.NewHostEmulator(opt)
	t.Cleanup(reset)
	if st := host.StartPlugin(); st != types.OnPluginStartStatusOK {
		t.Fatalf("plugin refused its configuration: %v", host.GetCriticalLogs())
	}
	return &goEngine{host: host}
}

func (e *goEngine) do(t *testing.T, method, path string, headers [][2]string) outcome {
	id := e.host.InitializeHttpContext()
	all := append([][2]string{{":method", method}, {":path", path}, {":authority", "api.example"}, {":scheme", "http"}}, headers...)
	action := e.host.CallOnRequestHeaders(id, all, true)
	defer e.host.CompleteHttpContext(id)
	if lr := e.host.GetSentLocalResponse(id); lr != nil {
		if action != types.ActionPause {
			t.Errorf("local reply sent but action = %v", action)
		}
		return outcome{status: int(lr.StatusCode), body: string(lr.Data), headers: headerMap(lr.Headers)}
	}
	if action != types.ActionContinue {
		t.Fatalf("no local reply and action = %v", action)
	}
	return outcome{upstream: headerMap(e.host.GetCurrentRequestHeaders(id))}
}

func (e *goEngine) logs() []string {
	var all []string
	all = append(all, e.host.GetWarnLogs()...)
	all = append(all, e.host.GetErrorLogs()...)
	return append(all, e.host.GetCriticalLogs()...)
}

func TestScenariosGo(t *testing.T) {
	runScenarios(t, newGoEngine(t, scenarioConfig, scenarioNow))
}
