// SPDX-License-Identifier: Apache-2.0

package server_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/credgate/credgate/plugin/tokenapi"
	"github.com/credgate/credgate/tokencluster/internal/metrics"
	"github.com/credgate/credgate/tokencluster/internal/server"
	"github.com/credgate/credgate/tokencluster/internal/store"
)

// scrape fetches /metrics from h and parses the text format.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// sample returns the value of family name at the labels (counter, gauge, or
// a histogram's count), and whether it exists.
func sample(fams map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// TestMetrics makes real requests of each kind, then scrapes /metrics and
// checks every documented family and the values those requests must leave.
func TestMetrics(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	e := newEnv(t, func(o *server.Options) { o.Metrics = m })

	wantStatus(t, e.postForm("/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"demo-client"},
		"client_secret": {"demo-client-secret"}}), 200)
	wantStatus(t, e.postJSON("/v2/token", demoLogin), 200)
	for range 5 { // the fifth failure starts the account's refusal
		wantStatus(t, e.postJSON("/v2/token", login("pea", "wrong")), 401)
	}
	wantStatus(t, e.postJSON("/v2/token", demoLogin), 429)
	wantField(t, e.verify(tokenapi.VerifyRequest{Kind: "api_key", Credential: "demo-api-key-0001"}), "active", true)
	wantField(t, e.verify(tokenapi.VerifyRequest{Kind: "api_key", Credential: "nope"}), "reason", "unknown")
	wantField(t, e.introspect("not-a-token"), "active", false)
	wantStatus(t, e.admin(http.MethodDelete, "/api-keys/demo-key", ""), 200)
	wantStatus(t, e.admin(http.MethodDelete, "/domains/shop.acme.test", ""), 200)
	wantStatus(t, e.do(http.MethodGet, "/v2/token/secret-looking-path/x", "", ""), 404)
	wantStatus(t, e.do(http.MethodGet, "/readyz", "", ""), 200)

	fams := scrape(t, m.Handler())
	var names []string
	for n := range fams {
		if strings.HasPrefix(n, metrics.Namespace+"_") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	t.Logf("%d tokencluster families: %s", len(names), strings.Join(names, " "))
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64 // -1: present, any value
	}{
		{"tokencluster_http_requests_total", map[string]string{"route": "POST /token", "code": "200"}, 1},
		{"tokencluster_http_requests_total", map[string]string{"route": "POST /v2/token", "code": "200"}, 1},
		{"tokencluster_http_requests_total", map[string]string{"route": "POST /v2/token", "code": "401"}, 5},
		{"tokencluster_http_requests_total", map[string]string{"route": "POST /v2/token", "code": "429"}, 1},
		{"tokencluster_http_requests_total", map[string]string{"route": "POST /v1/verify", "code": "200"}, 2},
		{"tokencluster_http_requests_total", map[string]string{"route": "DELETE /admin/v1/{collection}/{id}", "code": "200"}, 2},
		{"tokencluster_http_requests_total", map[string]string{"route": "unmatched", "code": "404"}, 1},
		{"tokencluster_http_request_duration_seconds", map[string]string{"route": "POST /v1/verify"}, 2},
		{"tokencluster_http_requests_in_flight", nil, 0},
		{"tokencluster_store_operation_duration_seconds", map[string]string{"op": "put_token"}, 2},
		{"tokencluster_store_operation_duration_seconds", map[string]string{"op": "append_revocation"}, 2},
		{"tokencluster_store_errors_total", map[string]string{"op": "get_token"}, 0}, // unknown tokens are answers
		{"tokencluster_store_up", nil, 1},
		{"tokencluster_login_failures_total", map[string]string{"endpoint": "v2/token"}, 5},
		{"tokencluster_login_throttled_total", map[string]string{"endpoint": "v2/token"}, 1},
		{"tokencluster_credentials_issued_total", map[string]string{"kind": "oauth2"}, 1},
		{"tokencluster_credentials_issued_total", map[string]string{"kind": "session"}, 1},
		{"tokencluster_revocations_published_total", map[string]string{"kind": "api_key"}, 1},
		{"tokencluster_revocations_published_total", map[string]string{"kind": "domain_key"}, 1},
		{"tokencluster_admin_changes_total", map[string]string{"collection": "api-keys", "action": "revoke"}, 1},
		{"tokencluster_verifications_total", map[string]string{"kind": "api_key", "result": "active"}, 1},
		{"tokencluster_verifications_total", map[string]string{"kind": "api_key", "result": "unknown"}, 1},
		{"tokencluster_verifications_total", map[string]string{"kind": "introspection", "result": "unknown"}, 1},
		{"tokencluster_cache_hint_seconds", map[string]string{"kind": "api_key", "active": "true"}, 1},
		{"tokencluster_revocation_feed_entries", nil, 2},
		{"tokencluster_draining", nil, 0},
		{"go_goroutines", nil, -1},
		{"process_cpu_seconds_total", nil, -1},
	} {
		got, ok := sample(fams, tc.name, tc.labels)
		if !ok {
			t.Errorf("%s%v missing", tc.name, tc.labels)
		} else if tc.want >= 0 && got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	// The cache hint served on the active answer was the 60 s default.
	for _, mt := range fams["tokencluster_cache_hint_seconds"].GetMetric() {
		if h := mt.GetHistogram(); mt.GetLabel()[1].GetValue() == "api_key" && mt.GetLabel()[0].GetValue() == "true" && h.GetSampleSum() != 60 {
			t.Errorf("cache hint sum %v, want 60", h.GetSampleSum())
		}
	}
	// Labels are route patterns: no raw path, no credential, reaches the output.
	for _, f := range fams {
		for _, mt := range f.GetMetric() {
			for _, l := range mt.GetLabel() {
				if strings.Contains(l.GetValue(), "secret-looking-path") || strings.Contains(l.GetValue(), "demo-") {
					t.Errorf("%s has label %s=%q", f.GetName(), l.GetName(), l.GetValue())
				}
			}
		}
	}
}

// failingFeed fails every revocation feed read and every ping.
type failingFeed struct{ store.Store }

func (failingFeed) Revocations(context.Context, uint64, int) ([]store.Revocation, store.Feed, error) {
	return nil, store.Feed{}, errors.New("connection reset")
}

func (failingFeed) Ping(context.Context) error { return errors.New("connection reset") }

// TestMetricsStoreFailures: failed store calls are counted by operation,
// store_up drops to 0, and a feed length that cannot be read is left out of
// the scrape while every other family is still served.
func TestMetricsStoreFailures(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	e := newEnvOn(t, failingFeed{openBolt(t)}, func(o *server.Options) { o.Metrics = m })
	wantStatus(t, e.do(http.MethodGet, "/v1/revocations?since=0", "", ""), 503)
	wantStatus(t, e.do(http.MethodGet, "/readyz", "", ""), 503)
	wantStatus(t, e.admin(http.MethodGet, "/users/nobody", ""), 404) // an answer, not a store error
	fams := scrape(t, m.Handler())
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"tokencluster_store_errors_total", map[string]string{"op": "revocations"}, 1},
		{"tokencluster_store_errors_total", map[string]string{"op": "ping"}, 1},
		{"tokencluster_store_errors_total", map[string]string{"op": "get"}, 0},
		{"tokencluster_store_up", nil, 0},
		{"tokencluster_http_requests_total", map[string]string{"route": "GET /v1/revocations", "code": "503"}, 1},
	} {
		if got, ok := sample(fams, tc.name, tc.labels); !ok || got != tc.want {
			t.Errorf("%s%v = %v (present %v), want %v", tc.name, tc.labels, got, ok, tc.want)
		}
	}
	if _, ok := fams["tokencluster_revocation_feed_entries"]; ok {
		t.Error("a feed length that could not be read was reported")
	}
}
