// SPDX-License-Identifier: Apache-2.0

package hostcalls_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/credgate/credgate/hostcalls"
)

// Shared data is one store for every VM of a host, with compare-and-swap:
// P goroutines × N requests, each a read-modify-write with CAS retries,
// spread over two VMs, must count exactly P×N.
func TestSharedDataCASAcrossVMs(t *testing.T) {
	t.Parallel()
	const P, N = 8, 25
	h := newHost(t, hostcalls.ProfileEnvoy133, hostcalls.NewConfig().WithVMs(2))
	var wg sync.WaitGroup
	vms := make([]int, 2)
	var mu sync.Mutex
	errs := make(chan error, P*N)
	for p := 0; p < P; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < N; n++ {
				res, err := h.Do(context.Background(), get("shared"))
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				vms[res.VM]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	v, cas, ok := h.SharedData("counter")
	if !ok || string(v) != strconv.Itoa(P*N) || cas == 0 {
		t.Fatalf("counter = %q cas %d ok %v, want %d", v, cas, ok, P*N)
	}
	if vms[0] != P*N/2 || vms[1] != P*N/2 {
		t.Fatalf("streams per VM = %v, want round-robin", vms)
	}
}

func TestSharedQueue(t *testing.T) {
	t.Parallel()
	h := newHost(t, hostcalls.ProfileEnvoy133, hostcalls.NewConfig().WithPluginConfig([]byte("queue=q")).WithVMs(2))
	res, err := h.Do(context.Background(), get("enqueue", [2]string{"x-item", "revoked:abc"}))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := res.UpstreamHeader("x-queue"); v != "0/0/missing=1" {
		t.Fatalf("x-queue = %q", v)
	}
	waitFor(t, func() bool {
		v, _, ok := h.SharedData("queue-last")
		return ok && string(v) == "revoked:abc"
	})
	if !hasLog(h, hostcalls.LogInfo, "queue item: revoked:abc") {
		t.Fatalf("logs = %+v", h.Logs())
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	h := newHost(t, hostcalls.ProfileEnvoy133, hostcalls.NewConfig().WithVMs(2))
	for i := 0; i < 3; i++ {
		res, err := h.Do(context.Background(), get("metrics"))
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("%d/0/neg=2/hist=2", i+1)
		if v, _ := res.UpstreamHeader("x-metric"); v != want {
			t.Fatalf("x-metric = %q, want %q", v, want)
		}
	}
	want := map[string]uint64{"requests": 3, "inflight": 5, "latency": 3}
	got := h.Metrics()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d (all: %v)", k, got[k], v, got)
		}
		if m, ok := h.Metric(k); !ok || m != v {
			t.Errorf("Metric(%s) = %d, %v", k, m, ok)
		}
	}
	if _, ok := h.Metric("nope"); ok {
		t.Error("unknown metric found")
	}
}

func TestProperties(t *testing.T) {
	t.Parallel()
	h := newHost(t, hostcalls.ProfileEnvoy133, hostcalls.NewConfig().WithPluginName("authz"))
	req := get("props", [2]string{"x-props", "request.headers,request.path,request.url_path,request.method,request.host,request.scheme," +
		"source.address,source.port,destination.address,plugin_name,plugin_root_id,plugin_vm_id," +
		"node.id,no.such.property,custom.key"})
	req.SourceAddress = "10.1.2.3:4444"
	res, err := h.Do(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"request.path": "/p?q=1/0", "request.url_path": "/p/0", "request.method": "GET/0", "request.host": "api.example/0",
		"request.scheme": "http/0", "request.headers": "8/0", "source.address": "10.1.2.3:4444/0", "source.port": "4444/0",
		"destination.address": "127.0.0.1:10000/0", "plugin_name": "authz/0", "plugin_root_id": "authz/0",
		"plugin_vm_id": "authz/0", "node.id": "credgate-host/0", "no.such.property": "/1", "custom.key": "/1",
	}
	for k, v := range want {
		if got, _ := res.UpstreamHeader("x-prop-" + k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

func TestTicks(t *testing.T) {
	t.Parallel()
	h := newHost(t, hostcalls.ProfileEnvoy133, hostcalls.NewConfig().WithPluginConfig([]byte("tick=1000")).WithVMs(3))
	for i := 0; i < 2; i++ {
		if err := h.Tick(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if v, _, _ := h.SharedData("ticks"); string(v) != "6" {
		t.Fatalf("ticks = %q, want 2 ticks × 3 VMs", v)
	}
	idle := newHost(t, hostcalls.ProfileEnvoy133, hostcalls.NewConfig())
	if err := idle.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := idle.SharedData("ticks"); ok {
		t.Fatal("a VM without a tick period was ticked")
	}
}

func TestAutoTick(t *testing.T) {
	t.Parallel()
	h := newHost(t, hostcalls.ProfileEnvoy139, hostcalls.NewConfig().WithPluginConfig([]byte("tick=10")).WithAutoTick(true))
	waitFor(t, func() bool {
		v, _, _ := h.SharedData("ticks")
		n, _ := strconv.Atoi(string(v))
		return n >= 3
	})
}

func TestClock(t *testing.T) {
	t.Parallel()
	fixed := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	h := newHost(t, hostcalls.ProfileEnvoy133, hostcalls.NewConfig().WithClock(func() time.Time { return fixed }))
	res, err := h.Do(context.Background(), get("time,foreign"))
	if err != nil {
		t.Fatal(err)
	}
	want := strconv.FormatInt(fixed.UnixNano(), 10)
	for _, k := range []string{"x-now", "x-go-now"} {
		if v, _ := res.UpstreamHeader(k); v != want {
			t.Errorf("%s = %s, want %s", k, v, want)
		}
	}
	if v, _ := res.UpstreamHeader("x-foreign"); v != "1" {
		t.Errorf("unknown foreign function: %s, want NotFound (1)", v)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRouteNameProperty: xds.route_name is the matched route's name as raw
// bytes, "" for a route without a name, and NotFound when no route matched,
// as Envoy's XDSWrapper answers.
func TestRouteNameProperty(t *testing.T) {
	t.Parallel()
	h := newHost(t, hostcalls.ProfileEnvoy139, hostcalls.NewConfig())
	tests := []struct {
		name    string
		route   string
		noRoute bool
		want    string
	}{
		{name: "named route", route: "orders-create", want: "orders-create/0"},
		{name: "route without a name", want: "/0"},
		{name: "no route", noRoute: true, want: "/1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := get("props", [2]string{"x-props", "xds.route_name"})
			req.RouteName, req.NoRoute = tc.route, tc.noRoute
			res, err := h.Do(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := res.UpstreamHeader("x-prop-xds.route_name"); got != tc.want {
				t.Errorf("xds.route_name = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestSetPropertyFilterState: proxy_set_property stores the value as Envoy
// does, under "wasm." + the path the plugin sent, readable by the stream
// again (one-segment paths, or filter_state.<key>) and by later stages
// (Result.FilterState); the next stream starts without it.
func TestSetPropertyFilterState(t *testing.T) {
	t.Parallel()
	h := newHost(t, hostcalls.ProfileEnvoy133, hostcalls.NewConfig())
	req := get("props",
		[2]string{"x-set-props", "credgate.subject=alice;two|segments=x;request.path=/forged"},
		[2]string{"x-props", "1:credgate.subject,credgate.subject,filter_state|wasm.credgate.subject,two.segments,request.path"})
	res, err := h.Do(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"x-set-credgate.subject":                    "0",
		"x-prop-1:credgate.subject":                 "alice/0",
		"x-prop-credgate.subject":                   "/1", // [credgate subject]: "wasm.credgate" holds no fields
		"x-prop-filter_state|wasm.credgate.subject": "alice/0",
		"x-prop-two.segments":                       "/1", // stored as "wasm.two\x00segments": not readable back
		"x-prop-request.path":                       "/p?q=1/0",
		"x-set-request.path":                        "0",
	}
	for k, v := range want {
		if got, _ := res.UpstreamHeader(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	wantState := map[string]string{"wasm.credgate.subject": "alice", "wasm.two\x00segments": "x",
		"wasm.request.path": "/forged", "wasm.custom.key": "custom-value"}
	if len(res.FilterState) != len(wantState) {
		t.Errorf("filter state %q, want %q", res.FilterState, wantState)
	}
	for k, v := range wantState {
		if got := string(res.FilterState[k]); got != v {
			t.Errorf("filter state %q = %q, want %q", k, got, v)
		}
	}
	next, err := h.Do(context.Background(), get("props", [2]string{"x-props", "1:credgate.subject"}))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := next.UpstreamHeader("x-prop-1:credgate.subject"); got != "/1" {
		t.Errorf("next stream sees %q, want NotFound", got)
	}
}

// TestFilterStateReachesTheUpstreamStage: the upstream handler (Envoy's
// later filters and router) sees the filter state the plugin set.
func TestFilterStateReachesTheUpstreamStage(t *testing.T) {
	t.Parallel()
	var seen map[string][]byte
	up := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = hostcalls.FilterStateOf(r)
		w.WriteHeader(204)
	})
	h := newHost(t, hostcalls.ProfileEnvoy139, hostcalls.NewConfig().WithUpstream(up))
	if _, err := h.Do(context.Background(), get("props", [2]string{"x-set-props", "credgate.tenant=acme"})); err != nil {
		t.Fatal(err)
	}
	if string(seen["wasm.credgate.tenant"]) != "acme" {
		t.Errorf("upstream stage saw %q", seen)
	}
	if hostcalls.FilterStateOf(httptest.NewRequest("GET", "/", nil)) != nil {
		t.Error("a request the host did not make has filter state")
	}
}
