// SPDX-License-Identifier: Apache-2.0

// Package gateway is an embedded stand-in for Envoy: it reads an Envoy
// bootstrap (envoy/envoy.yaml) with go-control-plane, serves its listener
// with net/http, runs every request through the credgate Wasm filter on the
// hostcalls host, and forwards continued requests by the bootstrap's route
// table to the clusters' endpoints. It lets `make run` and the end-to-end
// suite work on machines without Envoy.
package gateway

import (
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	wasmfilterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	downstreamv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/resource_monitors/downstream_connections/v3"
	wasmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/wasm/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
	"sigs.k8s.io/yaml"

	// The typed configs the bootstrap names must be registered to decode.
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/stream/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/rbac/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
)

// Bootstrap is what the gateway takes from an Envoy bootstrap.
type Bootstrap struct {
	// Listen is the first listener's address, for example "0.0.0.0:10000".
	Listen string
	// Routes is the first virtual host's route table, in order.
	Routes []Route
	// Plugin is the credgate Wasm filter's configuration.
	Plugin Plugin
	// Clusters maps each cluster name to the base URL of its first
	// endpoint, for example "http://upstream:8080".
	Clusters map[string]string
	// Underscores is the connection manager's
	// common_http_protocol_options.headers_with_underscores_action: what
	// Envoy does with a request header whose name has an underscore.
	Underscores corev3.HttpProtocolOptions_HeadersWithUnderscoresAction
	// Limits are the connection manager's and the overload manager's limits,
	// with Envoy's defaults where the bootstrap sets none.
	Limits Limits
	// RBAC are the RBAC filters of the chain, applied to continued requests
	// on the filter state the plugin published.
	RBAC []RBAC
	// Admin is the admin interface's address ("" when there is none).
	Admin string
	// StatsTags are stats_config.stats_tags, in order.
	StatsTags []TagRule
}

// Limits are what Envoy enforces on downstream requests before any filter.
type Limits struct {
	// MaxHeaderBytes: max_request_headers_kb (Envoy default 60 KiB).
	MaxHeaderBytes int
	// MaxHeaders: common_http_protocol_options.max_headers_count (default 100).
	MaxHeaders int
	// HeadersTimeout: request_headers_timeout (default none).
	HeadersTimeout time.Duration
	// IdleTimeout: common_http_protocol_options.idle_timeout (default 1h).
	IdleTimeout time.Duration
	// RequestTimeout: request_timeout (default none).
	RequestTimeout time.Duration
	// MaxConnections: the overload manager's
	// envoy.resource_monitors.global_downstream_max_connections (default
	// none: 0).
	MaxConnections int
}

func limitsOf(pb *bootstrapv3.Bootstrap, hcm *hcmv3.HttpConnectionManager) (Limits, error) {
	l := Limits{MaxHeaderBytes: 60 << 10, MaxHeaders: 100, IdleTimeout: time.Hour}
	if kb := hcm.GetMaxRequestHeadersKb(); kb != nil {
		l.MaxHeaderBytes = int(kb.GetValue()) << 10
	}
	po := hcm.GetCommonHttpProtocolOptions()
	if n := po.GetMaxHeadersCount(); n != nil {
		l.MaxHeaders = int(n.GetValue())
	}
	if d := po.GetIdleTimeout(); d != nil {
		l.IdleTimeout = d.AsDuration()
	}
	if d := hcm.GetRequestHeadersTimeout(); d != nil {
		l.HeadersTimeout = d.AsDuration()
	}
	if d := hcm.GetRequestTimeout(); d != nil {
		l.RequestTimeout = d.AsDuration()
	}
	for _, m := range pb.GetOverloadManager().GetResourceMonitors() {
		if m.GetName() != "envoy.resource_monitors.global_downstream_max_connections" {
			continue
		}
		var dc downstreamv3.DownstreamConnectionsConfig
		if err := m.GetTypedConfig().UnmarshalTo(&dc); err != nil {
			return l, fmt.Errorf("overload manager: %w", err)
		}
		l.MaxConnections = int(dc.GetMaxActiveDownstreamConnections())
	}
	return l, nil
}

// Plugin is the Wasm filter's configuration.
type Plugin struct {
	// Name is the plugin's root_id (or its name when root_id is empty).
	Name string
	// Config is the plugin configuration (the StringValue's value).
	Config []byte
	// VMConfig is the VM configuration, if any.
	VMConfig []byte
	// File is the module's local filename in the bootstrap.
	File string
	// FailClosed reports failure_policy FAIL_CLOSED (or the default).
	FailClosed bool
	// Env is the VM environment, vm_config.environment_variables: the
	// key_values, and the host_env_keys present in the gateway's own
	// environment, as "KEY=value", sorted.
	Env []string
}

// Route is one route of the table: exactly one of Path, Prefix and Regex.
type Route struct {
	// Name is the route's name, the xds.route_name property Envoy gives
	// the plugin ("" for a route without one).
	Name   string
	Path   string
	Prefix string
	Regex  *regexp.Regexp
	// IgnoreCase is match.case_sensitive false (prefix and path only, as
	// in Envoy).
	IgnoreCase bool
	Cluster    string
	// Timeout is the route's timeout; 0 means Envoy's default of 15 s.
	Timeout time.Duration
}

// Match reports whether the route applies to a request path (with or
// without a query string), as Envoy matches path, prefix and safe_regex.
func (r Route) Match(path string) bool {
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	switch {
	case r.Regex != nil:
		return r.Regex.MatchString(path)
	case r.Path != "" && r.IgnoreCase:
		return strings.EqualFold(path, r.Path)
	case r.Path != "":
		return path == r.Path
	case r.IgnoreCase:
		return len(path) >= len(r.Prefix) && strings.EqualFold(path[:len(r.Prefix)], r.Prefix)
	default:
		return strings.HasPrefix(path, r.Prefix)
	}
}

// Lookup returns the first route matching path.
func Lookup(routes []Route, path string) (Route, bool) {
	for _, r := range routes {
		if r.Match(path) {
			return r, true
		}
	}
	return Route{}, false
}

// LoadBootstrap reads an Envoy bootstrap in YAML or JSON.
func LoadBootstrap(file string) (*Bootstrap, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	bs, err := ParseBootstrap(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return bs, nil
}

// ParseBootstrap decodes a bootstrap (YAML → JSON → protojson) and extracts
// the first listener, its HTTP connection manager's routes and Wasm filter,
// and the static clusters.
func ParseBootstrap(doc []byte) (*Bootstrap, error) {
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, err
	}
	var pb bootstrapv3.Bootstrap
	if err := protojson.Unmarshal(js, &pb); err != nil {
		return nil, err
	}
	listeners := pb.GetStaticResources().GetListeners()
	if len(listeners) == 0 {
		return nil, errors.New("no static listener")
	}
	l := listeners[0]
	bs := &Bootstrap{Clusters: map[string]string{}}
	sa := l.GetAddress().GetSocketAddress()
	bs.Listen = net.JoinHostPort(sa.GetAddress(), strconv.Itoa(int(sa.GetPortValue())))
	hcm, err := connectionManager(l)
	if err != nil {
		return nil, err
	}
	bs.Underscores = hcm.GetCommonHttpProtocolOptions().GetHeadersWithUnderscoresAction()
	if bs.Limits, err = limitsOf(&pb, hcm); err != nil {
		return nil, err
	}
	if bs.Routes, err = routeTable(hcm); err != nil {
		return nil, err
	}
	if bs.Plugin, err = wasmPlugin(hcm); err != nil {
		return nil, err
	}
	if bs.RBAC, err = rbacFilters(hcm); err != nil {
		return nil, err
	}
	if bs.Admin, bs.StatsTags, err = adminOf(&pb); err != nil {
		return nil, err
	}
	for _, c := range pb.GetStaticResources().GetClusters() {
		if u, ok := clusterURL(c); ok {
			bs.Clusters[c.GetName()] = u
		}
	}
	for _, r := range bs.Routes {
		if _, ok := bs.Clusters[r.Cluster]; !ok {
			return nil, fmt.Errorf("route to unknown cluster %q", r.Cluster)
		}
	}
	return bs, nil
}

func connectionManager(l *listenerv3.Listener) (*hcmv3.HttpConnectionManager, error) {
	for _, fc := range l.GetFilterChains() {
		for _, f := range fc.GetFilters() {
			var hcm hcmv3.HttpConnectionManager
			if f.GetTypedConfig().MessageIs(&hcm) {
				if err := f.GetTypedConfig().UnmarshalTo(&hcm); err != nil {
					return nil, err
				}
				return &hcm, nil
			}
		}
	}
	return nil, fmt.Errorf("listener %q has no HTTP connection manager", l.GetName())
}

func routeTable(hcm *hcmv3.HttpConnectionManager) ([]Route, error) {
	vhs := hcm.GetRouteConfig().GetVirtualHosts()
	if len(vhs) == 0 {
		return nil, errors.New("no inline route_config virtual host (RDS is not supported)")
	}
	var out []Route
	for _, r := range vhs[0].GetRoutes() {
		rt, err := route(r)
		if err != nil {
			return nil, fmt.Errorf("route %q: %w", r.GetName(), err)
		}
		out = append(out, rt)
	}
	return out, nil
}

func route(r *routev3.Route) (Route, error) {
	m, a := r.GetMatch(), r.GetRoute()
	if a == nil || a.GetCluster() == "" {
		return Route{}, errors.New("only routes to a named cluster are supported")
	}
	if len(m.GetHeaders()) > 0 || len(m.GetQueryParameters()) > 0 {
		return Route{}, errors.New("header and query matches are not supported")
	}
	rt := Route{Name: r.GetName(), Cluster: a.GetCluster(), Timeout: a.GetTimeout().AsDuration(),
		IgnoreCase: m.GetCaseSensitive() != nil && !m.GetCaseSensitive().GetValue()}
	switch spec := m.GetPathSpecifier().(type) {
	case *routev3.RouteMatch_Path:
		rt.Path = spec.Path
	case *routev3.RouteMatch_Prefix:
		rt.Prefix = spec.Prefix
	case *routev3.RouteMatch_SafeRegex:
		re, err := regexp.Compile("^(?:" + spec.SafeRegex.GetRegex() + ")$")
		if err != nil {
			return Route{}, err
		}
		rt.Regex = re
	default:
		return Route{}, fmt.Errorf("unsupported path match %T", spec)
	}
	return rt, nil
}

func wasmPlugin(hcm *hcmv3.HttpConnectionManager) (Plugin, error) {
	for _, f := range hcm.GetHttpFilters() {
		var w wasmfilterv3.Wasm
		if !f.GetTypedConfig().MessageIs(&w) {
			continue
		}
		if err := f.GetTypedConfig().UnmarshalTo(&w); err != nil {
			return Plugin{}, err
		}
		c := w.GetConfig()
		p := Plugin{Name: c.GetRootId(), File: c.GetVmConfig().GetCode().GetLocal().GetFilename(),
			FailClosed: c.GetFailurePolicy().String() != "FAIL_OPEN" && !c.GetFailOpen()}
		if p.Name == "" {
			p.Name = c.GetName()
		}
		var err error
		if p.Config, err = stringValue(c.GetConfiguration()); err != nil {
			return Plugin{}, fmt.Errorf("plugin configuration: %w", err)
		}
		if p.VMConfig, err = stringValue(c.GetVmConfig().GetConfiguration()); err != nil {
			return Plugin{}, fmt.Errorf("vm configuration: %w", err)
		}
		p.Env = vmEnv(c.GetVmConfig().GetEnvironmentVariables())
		return p, nil
	}
	return Plugin{}, errors.New("no envoy.filters.http.wasm filter")
}

// vmEnv is Envoy's view of vm_config.environment_variables: host_env_keys
// copied from the proxy's environment when set there, then key_values.
func vmEnv(ev *wasmv3.EnvironmentVariables) []string {
	vars := map[string]string{}
	for _, k := range ev.GetHostEnvKeys() {
		if v, ok := os.LookupEnv(k); ok {
			vars[k] = v
		}
	}
	for k, v := range ev.GetKeyValues() {
		vars[k] = v
	}
	out := make([]string, 0, len(vars))
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// stringValue returns the value of a google.protobuf.StringValue Any (nil
// when absent).
func stringValue(a *anypb.Any) ([]byte, error) {
	if a == nil {
		return nil, nil
	}
	var sv wrapperspb.StringValue
	if err := a.UnmarshalTo(&sv); err != nil {
		return nil, fmt.Errorf("only google.protobuf.StringValue is supported: %w", err)
	}
	return []byte(sv.GetValue()), nil
}

func clusterURL(c *clusterv3.Cluster) (string, bool) {
	for _, eps := range c.GetLoadAssignment().GetEndpoints() {
		for _, lb := range eps.GetLbEndpoints() {
			sa := lb.GetEndpoint().GetAddress().GetSocketAddress()
			if sa.GetAddress() != "" {
				return "http://" + net.JoinHostPort(sa.GetAddress(), strconv.Itoa(int(sa.GetPortValue()))), true
			}
		}
	}
	return "", false
}
