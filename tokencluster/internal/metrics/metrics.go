// SPDX-License-Identifier: Apache-2.0

// Package metrics holds the token cluster's Prometheus metrics: one registry
// per process (passed to the server in its options), the families listed in
// tokencluster/README.md, and a store.Store wrapper that times every store
// call. Labels are bounded sets only (route patterns, store operations,
// credential kinds, endpoints), never a raw path, an id or a secret.
package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every family of the token cluster.
const Namespace = "tokencluster"

// Metrics are the token cluster's metric families. Build them with New.
type Metrics struct {
	// Registry holds every family below plus the Go runtime and process collectors.
	Registry *prometheus.Registry

	Requests        *prometheus.CounterVec   // route, code
	RequestDuration *prometheus.HistogramVec // route
	InFlight        prometheus.Gauge

	StoreDuration *prometheus.HistogramVec // op
	StoreErrors   *prometheus.CounterVec   // op
	StoreUp       prometheus.Gauge

	LoginFailures  *prometheus.CounterVec // endpoint
	LoginThrottled *prometheus.CounterVec // endpoint

	Issued       *prometheus.CounterVec // kind
	Revocations  *prometheus.CounterVec // kind
	AdminChanges *prometheus.CounterVec // collection, action

	Verifications *prometheus.CounterVec   // kind, result
	CacheHints    *prometheus.HistogramVec // kind, active

	Draining prometheus.Gauge
}

// New registers the families on a fresh registry.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	m := &Metrics{Registry: reg}
	m.Requests = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "http_requests_total",
		Help: "HTTP requests answered, by route pattern (\"unmatched\" for 404/405 of the mux) and status code."},
		[]string{"route", "code"})
	m.RequestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace,
		Name: "http_request_duration_seconds", Help: "Time from request to the end of the answer, by route pattern.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"route"})
	m.InFlight = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "http_requests_in_flight",
		Help: "Requests being served now."})
	m.StoreDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace,
		Name: "store_operation_duration_seconds", Help: "Latency of store calls, by operation (errors included).",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}}, []string{"op"})
	m.StoreErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "store_errors_total",
		Help: "Store calls that failed (not found, conflict and consumed are answers, not errors), by operation."},
		[]string{"op"})
	m.StoreUp = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "store_up",
		Help: "1 when the last store health check answered, else 0."})
	m.LoginFailures = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "login_failures_total",
		Help: "Password or secret checks that failed, by endpoint."}, []string{"endpoint"})
	m.LoginThrottled = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "login_throttled_total",
		Help: "Attempts refused (429) by the login throttle, by endpoint."}, []string{"endpoint"})
	m.Issued = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "credentials_issued_total",
		Help: "Tokens issued, by kind (oauth2, session, public_key_token, jwt_partner, jwt_customer, sso)."}, []string{"kind"})
	m.Revocations = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "revocations_published_total",
		Help: "Entries appended to the revocation feed by this process, by credential kind."}, []string{"kind"})
	m.AdminChanges = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "admin_changes_total",
		Help: "Successful admin API changes, by collection and action (create, rotate, revoke)."}, []string{"collection", "action"})
	m.Verifications = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "verifications_total",
		Help: "Answers of /introspect and /v1/verify, by kind and result (active, or the reason)."}, []string{"kind", "result"})
	m.CacheHints = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "cache_hint_seconds",
		Help:    "cache_ttl served on verification answers, by kind and active (true/false).",
		Buckets: []float64{0, 1, 5, 15, 30, 60, 300, 3600}}, []string{"kind", "active"})
	m.Draining = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "draining",
		Help: "1 once shutdown began: /readyz fails while in-flight requests finish."})
	for _, c := range []prometheus.Collector{m.Requests, m.RequestDuration, m.InFlight, m.StoreDuration, m.StoreErrors,
		m.StoreUp, m.LoginFailures, m.LoginThrottled, m.Issued, m.Revocations, m.AdminChanges, m.Verifications,
		m.CacheHints, m.Draining,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		f(c)
	}
	return m
}

// FeedLength registers tokencluster_revocation_feed_entries, read at each
// scrape from length (bounded by a one-second timeout; a failing read drops
// the sample from that scrape). It fails when called twice on one Metrics:
// a Metrics serves one server.
func (m *Metrics) FeedLength(length func(ctx context.Context) (uint64, error)) error {
	return m.Registry.Register(&funcGauge{desc: prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", "revocation_feed_entries"),
		"Entries the revocation feed holds (its head sequence while the feed is not compacted).", nil, nil), read: length})
}

// funcGauge is a gauge read at scrape time with a deadline; unlike
// prometheus.GaugeFunc it can report a failed read by leaving the sample out.
type funcGauge struct {
	desc *prometheus.Desc
	read func(ctx context.Context) (uint64, error)
}

func (g *funcGauge) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

func (g *funcGauge) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	n, err := g.read(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(g.desc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, float64(n))
}

// Handler serves the registry in the Prometheus text format (OpenMetrics
// when the scraper asks for it).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{EnableOpenMetrics: true, Timeout: 5 * time.Second,
		ErrorHandling: promhttp.ContinueOnError})
}
