// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/credgate/credgate/internal/testcluster"
)

// TestGatewayAdmin sends requests through the embedded gateway (the real
// module on envoy/envoy.yaml) and reads its Envoy-like admin interface:
// /ready, /stats in Envoy's text format, /stats/prometheus with
// envoy.yaml's tag rules applied.
func TestGatewayAdmin(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the token cluster and the gateway")
	}
	root := moduleRoot(t)
	tc := testcluster.Start(t, seedFile)
	t.Setenv("CREDGATE_VERIFY_TOKEN", testcluster.VerifyToken)
	echo := startEcho(t)
	gw, _ := startGateway(t, root, map[string]string{"token_cluster": tc.URL, "upstream_api": echo})
	if gw.AdminURL() == "" {
		t.Fatal("no admin interface")
	}
	for _, r := range []struct {
		path    string
		headers []string
		status  int
	}{
		{"/healthz", nil, 200},
		{"/Supplier/Products/List", []string{"ApiKey", "demo-api-key-0001", "x-tenant", "acme"}, 200},
		{"/Supplier/Products/List", []string{"ApiKey", "demo-api-key-0001", "x-tenant", "acme"}, 200},
		{"/Supplier/Products/List", []string{"ApiKey", "demo-api-key-0001"}, 401},
		{"/v1/designs/7", nil, 401},
	} {
		if st, body := adminGet(t, gw.URL()+r.path, r.headers...); st != r.status {
			t.Fatalf("GET %s: %d %s, want %d", r.path, st, body, r.status)
		}
	}
	admin := gw.AdminURL()

	if st, body := adminGet(t, admin+"/ready"); st != 200 || body != "LIVE\n" {
		t.Errorf("/ready: %d %q", st, body)
	}

	st, text := adminGet(t, admin+"/stats")
	if st != 200 {
		t.Fatalf("/stats: %d %s", st, text)
	}
	for _, line := range []string{
		"wasmcustom.credgate.requests.health.none.allow: 1",
		"wasmcustom.credgate.requests.supplier.api_key.allow: 2",
		"wasmcustom.credgate.requests.supplier.api_key.deny: 1",
		"wasmcustom.credgate.denials.supplier.api_key_no_tenant: 1",
		"wasmcustom.credgate.denials.zakeke-designs.credentials_missing: 1",
		"wasmcustom.credgate.cache.miss: ",
		"wasmcustom.credgate.cluster.latency_ms: P0(nan,",
	} {
		if !strings.Contains(text, "\n"+line) && !strings.HasPrefix(text, line) {
			t.Errorf("/stats lacks %q:\n%s", line, text)
		}
	}
	if _, f := adminGet(t, admin+"/stats?filter=denials"); strings.Contains(f, "requests") || !strings.Contains(f, "denials") {
		t.Errorf("/stats?filter=denials:\n%s", f)
	}
	if st, body := adminGet(t, admin+"/stats?format=json"); st != http.StatusBadRequest {
		t.Errorf("/stats?format=json: %d %s, want 400 (not served)", st, body)
	}
	if st, body := adminGet(t, admin+"/stats?format=prometheus"); st != 200 || !strings.Contains(body, "# TYPE credgate_requests counter") {
		t.Errorf("/stats?format=prometheus: %d\n%s", st, body)
	}

	// The memory gauges appear on the VMs' first tick.
	var prom string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		st, prom = adminGet(t, admin+"/stats/prometheus")
		if st != 200 {
			t.Fatalf("/stats/prometheus: %d %s", st, prom)
		}
		if strings.Contains(prom, "credgate_vm_gc_cycles") || time.Now().After(deadline) {
			break
		}
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(prom))
	if err != nil {
		t.Fatalf("/stats/prometheus is not Prometheus text: %v\n%s", err, prom)
	}
	for _, tc := range []struct {
		family string
		typ    dto.MetricType
		labels map[string]string
		value  float64
	}{
		{"credgate_requests", dto.MetricType_COUNTER, map[string]string{"route": "supplier", "scheme": "api_key", "outcome": "allow"}, 2},
		{"credgate_requests", dto.MetricType_COUNTER, map[string]string{"route": "health", "scheme": "none", "outcome": "allow"}, 1},
		{"credgate_denials", dto.MetricType_COUNTER, map[string]string{"route": "zakeke-designs", "reason": "credentials_missing"}, 1},
		{"credgate_denials", dto.MetricType_COUNTER, map[string]string{"route": "supplier", "reason": "api_key_no_tenant"}, 1},
		{"credgate_cache_miss", dto.MetricType_COUNTER, map[string]string{}, -1},
		{"credgate_cluster_latency_ms", dto.MetricType_HISTOGRAM, map[string]string{}, -1},
		{"credgate_vm_gc_cycles", dto.MetricType_GAUGE, nil, -1},
	} {
		f := fams[tc.family]
		if f == nil || f.GetType() != tc.typ {
			t.Errorf("no %s family %s in:\n%s", tc.typ, tc.family, prom)
			continue
		}
		if tc.labels == nil { // a gauge per VM slot
			if len(f.GetMetric()) == 0 || labelsOf(f.GetMetric()[0])["vm_slot"] == "" {
				t.Errorf("%s has no vm_slot label: %v", tc.family, f)
			}
			continue
		}
		found := false
		for _, m := range f.GetMetric() {
			if !sameLabels(labelsOf(m), tc.labels) {
				continue
			}
			found = true
			v := m.GetCounter().GetValue()
			if tc.typ == dto.MetricType_HISTOGRAM {
				v = float64(m.GetHistogram().GetSampleCount())
			}
			if v != tc.value && (tc.value >= 0 || v < 1) {
				t.Errorf("%s%v = %v, want %v", tc.family, tc.labels, v, tc.value)
			}
		}
		if !found {
			t.Errorf("%s has no series %v:\n%s", tc.family, tc.labels, prom)
		}
	}
	if !strings.Contains(prom, "# TYPE credgate_requests counter\n") {
		t.Errorf("no TYPE line for credgate_requests:\n%s", prom)
	}

	resp, err := http.Post(admin+"/stats", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /stats: %d, want 405", resp.StatusCode)
	}
}

func adminGet(t *testing.T, url string, headers ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

func sameLabels(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}
