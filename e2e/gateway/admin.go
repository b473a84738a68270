// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	metricsv3 "github.com/envoyproxy/go-control-plane/envoy/config/metrics/v3"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/proto"

	"github.com/credgate/credgate/hostcalls"
)

// customNamespace is the namespace Envoy puts before every stat a Wasm
// plugin defines (source/extensions/common/wasm/stats_handler.h,
// CustomStatNamespace). Its Prometheus output drops it and, for these
// stats only, adds no "envoy_" prefix.
const customNamespace = "wasmcustom"

// AdminFromBootstrap, as Options.Admin, serves the admin interface on the
// bootstrap's admin port, on loopback.
const AdminFromBootstrap = "bootstrap"

// TagRule is one of the bootstrap's stats_config.stats_tags.
type TagRule struct {
	// Name is the tag's name, the Prometheus label.
	Name string
	// Regex extracts the tag: its first group is cut from the stat name,
	// its second (else the first) is the value. Nil for a fixed value.
	Regex *regexp.Regexp
	// Fixed is a value every stat carries (fixed_value).
	Fixed string
}

// Tag is a stat's tag.
type Tag struct{ Name, Value string }

// adminOf reads the admin address and stats_config. Envoy's default tag
// rules are not applied: none of them matches a Wasm plugin's stats, the
// only stats the embedded gateway has.
func adminOf(pb *bootstrapv3.Bootstrap) (addr string, rules []TagRule, err error) {
	if sa := pb.GetAdmin().GetAddress().GetSocketAddress(); sa != nil {
		addr = net.JoinHostPort(sa.GetAddress(), strconv.Itoa(int(sa.GetPortValue())))
	}
	seen := map[string]bool{}
	for i, ts := range pb.GetStatsConfig().GetStatsTags() {
		path := fmt.Sprintf("stats_config.stats_tags[%d]", i)
		name := ts.GetTagName()
		if name == "" {
			return "", nil, fmt.Errorf("%s: tag_name is empty", path)
		}
		if seen[name] {
			// Envoy refuses a bootstrap naming a tag twice.
			return "", nil, fmt.Errorf("%s: tag name %q specified twice", path, name)
		}
		seen[name] = true
		r := TagRule{Name: name}
		switch v := ts.GetTagValue().(type) {
		case *metricsv3.TagSpecifier_Regex:
			if r.Regex, err = regexp.Compile(v.Regex); err != nil {
				return "", nil, fmt.Errorf("%s.regex: %w", path, err)
			}
			if r.Regex.NumSubexp() == 0 {
				return "", nil, fmt.Errorf("%s.regex: a tag regex needs a capture group", path)
			}
		case *metricsv3.TagSpecifier_FixedValue:
			r.Fixed = v.FixedValue
		default:
			return "", nil, fmt.Errorf("%s: Envoy's default regex for %q is not supported here: give regex or fixed_value", path, name)
		}
		rules = append(rules, r)
	}
	return addr, rules, nil
}

// ExtractTags applies the rules to a stat's full name as Envoy's tag
// producer does (source/common/stats/tag_extractor_impl.cc): a rule whose
// regex matches with a non-empty first group adds a tag valued by the
// second group (else the first) and cuts the first group's characters from
// the name. It returns the tag-extracted name and the tags in rule order.
func ExtractTags(rules []TagRule, name string) (string, []Tag) {
	var tags []Tag
	cut := make([]bool, len(name))
	for _, r := range rules {
		if r.Regex == nil {
			tags = append(tags, Tag{r.Name, r.Fixed})
			continue
		}
		m := r.Regex.FindStringSubmatchIndex(name)
		if m == nil || m[2] < 0 || m[3] == m[2] {
			continue
		}
		value := name[m[2]:m[3]]
		if len(m) > 4 && m[4] >= 0 && m[5] > m[4] {
			value = name[m[4]:m[5]]
		}
		tags = append(tags, Tag{r.Name, value})
		for i := m[2]; i < m[3]; i++ {
			cut[i] = true
		}
	}
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		if !cut[i] {
			b.WriteByte(name[i])
		}
	}
	return b.String(), tags
}

var promUnsafe = regexp.MustCompile(`[^a-zA-Z0-9_]`)

// PrometheusName is Envoy's Prometheus name for a tag-extracted stat name
// (source/server/admin/prometheus_stats.cc): a stat of a custom namespace
// loses the namespace and gets no prefix, any other gets "envoy_"; every
// character outside [a-zA-Z0-9_] becomes '_'. ok is false for a name Envoy
// leaves out (a custom stat that would start with a digit).
func PrometheusName(extracted string) (string, bool) {
	if rest, found := strings.CutPrefix(extracted, customNamespace+"."); found {
		n := promUnsafe.ReplaceAllString(rest, "_")
		if n == "" || n[0] >= '0' && n[0] <= '9' {
			return "", false
		}
		return n, true
	}
	return "envoy_" + promUnsafe.ReplaceAllString(extracted, "_"), true
}

// admin serves the read-only part of Envoy's admin interface.
type admin struct {
	g   *Gateway
	srv *http.Server
	ln  net.Listener
}

// adminAddr resolves Options.Admin: "" serves none, AdminFromBootstrap the
// bootstrap's port on 127.0.0.1, a bare port 127.0.0.1 too. The admin
// interface is loopback only, as envoy/envoy.yaml binds Envoy's.
func adminAddr(bootstrap, opt string) (string, error) {
	switch {
	case opt == "":
		return "", nil
	case opt == AdminFromBootstrap:
		if bootstrap == "" {
			return "", errors.New("the bootstrap has no admin address")
		}
		_, port, err := net.SplitHostPort(bootstrap)
		if err != nil {
			return "", err
		}
		return net.JoinHostPort("127.0.0.1", port), nil
	}
	if _, err := strconv.Atoi(opt); err == nil {
		return net.JoinHostPort("127.0.0.1", opt), nil
	}
	host, _, err := net.SplitHostPort(opt)
	if err != nil {
		return "", fmt.Errorf("admin address %q: %w", opt, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", fmt.Errorf("admin address %q: the admin interface listens on loopback only", opt)
	}
	return opt, nil
}

func (g *Gateway) startAdmin(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("admin listener: %w", err)
	}
	a := &admin{g: g, ln: ln}
	mux := http.NewServeMux()
	mux.HandleFunc("/stats", a.stats)
	mux.HandleFunc("/stats/prometheus", a.prometheus)
	mux.HandleFunc("/ready", a.ready)
	a.srv = &http.Server{Handler: readOnly(mux), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		MaxHeaderBytes: 16 << 10}
	go func() { _ = a.srv.Serve(ln) }()
	g.admin = a
	g.log.Info("admin listening", "addr", ln.Addr().String())
	return nil
}

// AdminURL returns the admin interface's base URL ("" when it is off).
func (g *Gateway) AdminURL() string {
	if g.admin == nil {
		return ""
	}
	return "http://" + g.admin.ln.Addr().String()
}

func (a *admin) close(ctx context.Context) {
	_ = a.srv.Shutdown(ctx)
}

// readOnly answers GET and HEAD only, as Envoy's admin does for the
// endpoints that change nothing.
func readOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// ready is Envoy's /ready: LIVE while serving, DRAINING (503) once
// shutting down.
func (a *admin) ready(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	if a.g.draining.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("DRAINING\n"))
		return
	}
	_, _ = w.Write([]byte("LIVE\n"))
}

// query reads the parameters both stats endpoints take: filter (a regular
// expression on the full name) and usedonly (stats whose value is not 0;
// Envoy's own flag means "ever set", which the host does not keep).
func (a *admin) query(w http.ResponseWriter, r *http.Request) (stats []hostcalls.Stat, ok bool) {
	q := r.URL.Query()
	var filter *regexp.Regexp
	if f := q.Get("filter"); f != "" {
		var err error
		if filter, err = regexp.Compile(f); err != nil {
			http.Error(w, "Invalid re2 regex", http.StatusBadRequest)
			return nil, false
		}
	}
	_, usedOnly := q["usedonly"]
	for _, s := range a.g.host.Stats() {
		s.Name = customNamespace + "." + s.Name
		if filter != nil && !filter.MatchString(s.Name) || usedOnly && s.Value == 0 {
			continue
		}
		stats = append(stats, s)
	}
	return stats, true
}

// stats is Envoy's /stats text: "name: value" for counters and gauges,
// sorted by name, then histograms as cumulative quantiles (the upper bound
// of the bucket each falls in; the interval is not kept, "nan").
func (a *admin) stats(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Query().Get("format") {
	case "prometheus":
		a.prometheus(w, r)
		return
	case "", "text":
	default:
		http.Error(w, "unsupported format (this admin interface serves text and prometheus)", http.StatusBadRequest)
		return
	}
	stats, ok := a.query(w, r)
	if !ok {
		return
	}
	var b bytes.Buffer
	for _, s := range stats {
		if s.Type != hostcalls.StatHistogram {
			fmt.Fprintf(&b, "%s: %d\n", s.Name, s.Value)
		}
	}
	for _, s := range stats {
		if s.Type == hostcalls.StatHistogram {
			fmt.Fprintf(&b, "%s: %s\n", s.Name, quantiles(s))
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	_, _ = w.Write(b.Bytes())
}

func quantiles(s hostcalls.Stat) string {
	if s.Value == 0 {
		return "No recorded values"
	}
	var parts []string
	for _, q := range []float64{0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100} {
		rank := uint64(math.Ceil(q / 100 * float64(s.Value)))
		if rank == 0 {
			rank = 1
		}
		v := "+Inf"
		for i, n := range s.Buckets {
			if n >= rank {
				v = strconv.FormatFloat(hostcalls.HistogramBuckets[i], 'g', -1, 64)
				break
			}
		}
		parts = append(parts, fmt.Sprintf("P%s(nan,%s)", strconv.FormatFloat(q, 'g', -1, 64), v))
	}
	return strings.Join(parts, " ")
}

// prometheus is Envoy's /stats/prometheus: the tag rules of the bootstrap
// applied, one family per tag-extracted name, counters then gauges then
// histograms (Envoy's default buckets), each family sorted by name.
func (a *admin) prometheus(w http.ResponseWriter, r *http.Request) {
	stats, ok := a.query(w, r)
	if !ok {
		return
	}
	type family struct {
		mf   *dto.MetricFamily
		kind hostcalls.StatType
	}
	byName := map[string]*family{}
	for _, s := range stats {
		extracted, tags := ExtractTags(a.g.bs.StatsTags, s.Name)
		name, ok := PrometheusName(extracted)
		if !ok {
			continue
		}
		key := strconv.Itoa(int(s.Type)) + name
		f := byName[key]
		if f == nil {
			f = &family{mf: &dto.MetricFamily{Name: proto.String(name), Type: promType(s.Type)}, kind: s.Type}
			byName[key] = f
		}
		m := &dto.Metric{}
		for _, t := range tags {
			m.Label = append(m.Label, &dto.LabelPair{Name: proto.String(promUnsafe.ReplaceAllString(t.Name, "_")),
				Value: proto.String(t.Value)})
		}
		switch s.Type {
		case hostcalls.StatCounter:
			m.Counter = &dto.Counter{Value: proto.Float64(float64(s.Value))}
		case hostcalls.StatGauge:
			m.Gauge = &dto.Gauge{Value: proto.Float64(float64(s.Value))}
		default:
			h := &dto.Histogram{SampleCount: proto.Uint64(s.Value), SampleSum: proto.Float64(float64(s.Sum))}
			for i, n := range s.Buckets {
				h.Bucket = append(h.Bucket, &dto.Bucket{UpperBound: proto.Float64(hostcalls.HistogramBuckets[i]),
					CumulativeCount: proto.Uint64(n)})
			}
			m.Histogram = h
		}
		f.mf.Metric = append(f.mf.Metric, m)
	}
	fams := make([]*family, 0, len(byName))
	for _, f := range byName {
		fams = append(fams, f)
	}
	sort.Slice(fams, func(i, j int) bool {
		if fams[i].kind != fams[j].kind {
			return fams[i].kind < fams[j].kind
		}
		return fams[i].mf.GetName() < fams[j].mf.GetName()
	})
	var b bytes.Buffer
	for _, f := range fams {
		if _, err := expfmt.MetricFamilyToText(&b, f.mf); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

func promType(t hostcalls.StatType) *dto.MetricType {
	switch t {
	case hostcalls.StatCounter:
		return dto.MetricType_COUNTER.Enum()
	case hostcalls.StatGauge:
		return dto.MetricType_GAUGE.Enum()
	}
	return dto.MetricType_HISTOGRAM.Enum()
}
