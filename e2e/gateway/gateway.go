// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"

	"github.com/credgate/credgate/hostcalls"
)

// maxBody is the largest request body the gateway buffers for the filter.
const maxBody = 8 << 20

// Options configure a Gateway.
type Options struct {
	// Bootstrap is the Envoy bootstrap file (envoy/envoy.yaml).
	Bootstrap string
	// Wasm is the module file; empty means the bootstrap's own filename.
	Wasm string
	// Listen overrides the listener address. Empty means the bootstrap's
	// port on 127.0.0.1; a bare port number also means 127.0.0.1.
	Listen string
	// Clusters overrides cluster endpoints by name, for example
	// "token_cluster" → "http://127.0.0.1:9090".
	Clusters map[string]string
	// VMs is the number of VMs, as Envoy runs one per worker. Default 2.
	VMs int
	// CacheDir keeps compiled machine code between runs; empty compiles in
	// memory.
	CacheDir string
	// LogLevel is the plugin's log level (Envoy's default is info).
	LogLevel hostcalls.LogLevel
	// Logger receives the gateway's and the plugin's logs. Default: JSON on
	// stderr.
	Logger *slog.Logger
	// Admin is the admin interface's address (/stats, /stats/prometheus,
	// /ready), on loopback only: "" for none, AdminFromBootstrap for the
	// bootstrap's admin port, a port, or a loopback host:port.
	Admin string
}

// Gateway serves one bootstrap listener through the credgate filter.
type Gateway struct {
	bs     *Bootstrap
	log    *slog.Logger
	module *hostcalls.Module
	cache  *hostcalls.Cache
	host   *hostcalls.Host
	up     *upstreams
	srv    *http.Server
	ln     net.Listener
	served chan error
	admin  *admin
	// draining is set by Shutdown: /ready then answers 503.
	draining atomic.Bool
}

// Start loads the bootstrap and the module, starts the plugin's VMs, and
// serves the listener until Shutdown.
func Start(ctx context.Context, o Options) (*Gateway, error) {
	bs, err := LoadBootstrap(o.Bootstrap)
	if err != nil {
		return nil, err
	}
	if !bs.Plugin.FailClosed {
		return nil, errors.New("the Wasm filter's failure_policy is not FAIL_CLOSED: the embedded host only fails closed")
	}
	if err := applyOverrides(bs, o.Clusters); err != nil {
		return nil, err
	}
	addr, err := listenAddr(bs.Listen, o.Listen)
	if err != nil {
		return nil, err
	}
	adminAt, err := adminAddr(bs.Admin, o.Admin)
	if err != nil {
		return nil, err
	}
	g := &Gateway{bs: bs, log: o.Logger, served: make(chan error, 1)}
	if g.log == nil {
		g.log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	if g.up, err = newUpstreams(bs); err != nil {
		return nil, err
	}
	if err := g.startHost(ctx, o); err != nil {
		g.close(ctx)
		return nil, err
	}
	if g.ln, err = net.Listen("tcp", addr); err != nil {
		g.close(ctx)
		return nil, err
	}
	lim := bs.Limits
	idle := &idleConns{since: map[net.Conn]time.Time{}}
	if lim.MaxConnections > 0 {
		g.ln = &limitListener{Listener: g.ln, max: int64(lim.MaxConnections), log: g.log, evict: idle.closeOldest}
	}
	// Envoy's limits before any filter: the header size (Go's own check,
	// with room for the request line, answers 431 past it; ServeHTTP
	// applies the exact limit), the headers and idle timeouts.
	g.srv = &http.Server{Handler: g, MaxHeaderBytes: lim.MaxHeaderBytes + 4<<10,
		ReadHeaderTimeout: lim.HeadersTimeout, IdleTimeout: lim.IdleTimeout, ReadTimeout: lim.RequestTimeout,
		ConnState: idle.track}
	if adminAt != "" {
		if err := g.startAdmin(adminAt); err != nil {
			_ = g.ln.Close()
			g.close(ctx)
			return nil, err
		}
	}
	go func() { g.served <- g.srv.Serve(g.ln) }()
	g.log.Info("gateway listening", "addr", g.ln.Addr().String(), "routes", len(bs.Routes),
		"clusters", bs.Clusters, "vms", g.host.VMs())
	return g, nil
}

func (g *Gateway) startHost(ctx context.Context, o Options) error {
	file := o.Wasm
	if file == "" {
		file = g.bs.Plugin.File
	}
	wasm, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("wasm module: %w", err)
	}
	if o.CacheDir != "" {
		if g.cache, err = hostcalls.NewDirCache(o.CacheDir); err != nil {
			return err
		}
	}
	if g.module, err = hostcalls.CompileWithCache(ctx, g.cache, wasm, hostcalls.ProfileEnvoy139); err != nil {
		return err
	}
	vms := o.VMs
	if vms == 0 {
		vms = 2
	}
	cfg := hostcalls.NewConfig().WithVMs(vms).WithAutoTick(true).WithPluginName(g.bs.Plugin.Name).
		WithPluginConfig(g.bs.Plugin.Config).WithVMConfig(g.bs.Plugin.VMConfig).
		WithUpstream(g.up).WithStderr(os.Stderr).WithLogLevel(o.LogLevel).
		// Every plugin line reaches the gateway's log as it is written: an
		// audit trail must not lose denials under a flood.
		WithLogSink(func(e hostcalls.LogEntry) {
			g.log.Log(context.Background(), slogLevel(e.Level), e.Message, "source", "plugin", "vm", e.VM)
		})
	for name, u := range g.bs.Clusters {
		cfg = cfg.WithCluster(name, u)
	}
	for _, kv := range g.bs.Plugin.Env {
		k, v, _ := strings.Cut(kv, "=")
		cfg = cfg.WithEnv(k, v)
	}
	g.host, err = hostcalls.NewHost(ctx, g.module, cfg)
	return err
}

// applyOverrides replaces cluster endpoints; naming an unknown cluster is
// an error.
func applyOverrides(bs *Bootstrap, over map[string]string) error {
	for name, u := range over {
		if _, ok := bs.Clusters[name]; !ok {
			return fmt.Errorf("no cluster %q in the bootstrap", name)
		}
		if !strings.HasPrefix(u, "http://") {
			return fmt.Errorf("cluster %q: endpoint %q is not an http:// URL", name, u)
		}
		bs.Clusters[name] = strings.TrimSuffix(u, "/")
	}
	return nil
}

// listenAddr keeps the bootstrap's port on loopback unless told otherwise.
func listenAddr(bootstrap, override string) (string, error) {
	if override == "" {
		_, port, err := net.SplitHostPort(bootstrap)
		if err != nil {
			return "", err
		}
		return net.JoinHostPort("127.0.0.1", port), nil
	}
	if _, err := strconv.Atoi(override); err == nil {
		return net.JoinHostPort("127.0.0.1", override), nil
	}
	if _, _, err := net.SplitHostPort(override); err != nil {
		return "", fmt.Errorf("listen address %q: %w", override, err)
	}
	return override, nil
}

// Addr returns the address the gateway listens on.
func (g *Gateway) Addr() string { return g.ln.Addr().String() }

// URL returns the gateway's base URL, for example http://127.0.0.1:10000.
func (g *Gateway) URL() string { return "http://" + g.Addr() }

// Bootstrap returns what the gateway took from the bootstrap, cluster
// overrides applied.
func (g *Gateway) Bootstrap() *Bootstrap { return g.bs }

// Host returns the plugin's host (metrics, logs, traps).
func (g *Gateway) Host() *hostcalls.Host { return g.host }

// Done is closed with the serve error when the listener stops.
func (g *Gateway) Done() <-chan error { return g.served }

// Shutdown stops accepting connections, waits for requests in flight until
// ctx ends, then stops the VMs.
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.draining.Store(true)
	err := g.srv.Shutdown(ctx)
	if g.admin != nil {
		g.admin.close(ctx)
	}
	g.close(ctx)
	return err
}

func (g *Gateway) close(ctx context.Context) {
	if g.host != nil {
		if err := g.host.Close(ctx); err != nil {
			g.log.Warn("closing the plugin", "err", err)
		}
	}
	if g.module != nil {
		_ = g.module.Close(ctx)
	}
	if g.cache != nil {
		_ = g.cache.Close(ctx)
	}
	if g.up != nil {
		g.up.transport.CloseIdleConnections()
	}
}

// ServeHTTP runs one request through the filter and writes what the client
// receives: a local reply or the upstream's response.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
		return
	}
	path := r.RequestURI
	if !strings.HasPrefix(path, "/") {
		path = r.URL.RequestURI()
	}
	if tooLarge(r.Header, g.bs.Limits) {
		// Envoy's codec: max_request_headers_kb / max_headers_count.
		http.Error(w, "Request Header Fields Too Large", http.StatusRequestHeaderFieldsTooLarge)
		return
	}
	headers, ok := underscoreHeaders(requestHeaders(r.Header), g.bs.Underscores)
	if !ok {
		// Envoy's codec refuses the request before any filter runs.
		http.Error(w, "Bad Request", http.StatusBadRequest)
		return
	}
	// Envoy's router matches the route before the filter runs and gives
	// the plugin its name (xds.route_name).
	rt, routed := Lookup(g.bs.Routes, path)
	req := hostcalls.Request{Method: r.Method, Path: path, Authority: r.Host, Headers: headers,
		Body: body, SourceAddress: r.RemoteAddr, RouteName: rt.Name, NoRoute: !routed}
	res, err := g.host.Do(r.Context(), req)
	if err != nil || res == nil {
		if r.Context().Err() == nil {
			g.log.Error("filter failed", "method", r.Method, "err", err)
			http.Error(w, "filter failure", http.StatusServiceUnavailable)
		}
		return
	}
	if res.Reset {
		panic(http.ErrAbortHandler) // the plugin closed the stream: no response
	}
	writeResponse(w, r.Method, res.Response)
}

// hopByHop are the connection headers Envoy's connection manager does not
// pass on.
var hopByHop = map[string]bool{"connection": true, "keep-alive": true, "proxy-connection": true,
	"transfer-encoding": true, "upgrade": true, "te": true}

func requestHeaders(h http.Header) [][2]string {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	var out [][2]string
	for _, k := range names {
		lk := strings.ToLower(k)
		if hopByHop[lk] {
			continue
		}
		for _, v := range h[k] {
			out = append(out, [2]string{lk, v})
		}
	}
	return out
}

// tooLarge reports whether the request headers pass Envoy's limits: more
// than MaxHeaders headers, or more than MaxHeaderBytes of names and values.
func tooLarge(h http.Header, l Limits) bool {
	n, size := 0, 0
	for k, vs := range h {
		n += len(vs)
		for _, v := range vs {
			size += len(k) + len(v)
		}
	}
	return n > l.MaxHeaders || size > l.MaxHeaderBytes
}

// limitListener bounds active connections, as Envoy's overload manager does
// with global_downstream_max_connections. At the bound it first closes the
// connection idle the longest (a kept-alive connection waiting for a next
// request), and only when none is idle closes the new one, so that idle
// connections cannot starve new clients.
type limitListener struct {
	net.Listener
	max     int64
	active  atomic.Int64
	refused atomic.Int64
	log     *slog.Logger
	evict   func() bool // closes an idle connection; false when none is idle
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.active.Load() >= l.max && l.evict != nil {
			l.evict() // the evicted connection's Close frees its slot
		}
		if l.active.Add(1) > l.max {
			l.active.Add(-1)
			if n := l.refused.Add(1); n&(n-1) == 0 { // log at 1, 2, 4, 8, ...
				l.log.Warn("connection limit reached; closing new connections", "max", l.max, "refused", n)
			}
			_ = c.Close()
			continue
		}
		return &countedConn{Conn: c, done: func() { l.active.Add(-1) }}, nil
	}
}

// idleConns knows which connections wait idle for a next request.
type idleConns struct {
	mu    sync.Mutex
	since map[net.Conn]time.Time
}

func (t *idleConns) track(c net.Conn, st http.ConnState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if st == http.StateIdle {
		t.since[c] = time.Now()
	} else {
		delete(t.since, c)
	}
}

// closeOldest closes the connection idle the longest.
func (t *idleConns) closeOldest() bool {
	t.mu.Lock()
	var oldest net.Conn
	for c, at := range t.since {
		if oldest == nil || at.Before(t.since[oldest]) {
			oldest = c
		}
	}
	delete(t.since, oldest)
	t.mu.Unlock()
	if oldest == nil {
		return false
	}
	_ = oldest.Close()
	return true
}

type countedConn struct {
	net.Conn
	once sync.Once
	done func()
}

func (c *countedConn) Close() error {
	c.once.Do(c.done)
	return c.Conn.Close()
}

// underscoreHeaders applies headers_with_underscores_action as Envoy's
// connection manager does: ALLOW keeps them, DROP_HEADER drops them, and
// REJECT_REQUEST refuses the request (ok false).
func underscoreHeaders(hs [][2]string, action corev3.HttpProtocolOptions_HeadersWithUnderscoresAction) ([][2]string, bool) {
	if action == corev3.HttpProtocolOptions_ALLOW {
		return hs, true
	}
	kept := hs[:0:0]
	for _, kv := range hs {
		if !strings.Contains(kv[0], "_") {
			kept = append(kept, kv)
		} else if action == corev3.HttpProtocolOptions_REJECT_REQUEST {
			return nil, false
		}
	}
	return kept, true
}

func writeResponse(w http.ResponseWriter, method string, resp hostcalls.Response) {
	hdr := w.Header()
	for _, p := range resp.Headers {
		name := strings.ToLower(p[0])
		if hopByHop[name] || strings.HasPrefix(name, ":") || (name == "content-length" && method != http.MethodHead) {
			continue
		}
		hdr.Add(p[0], p[1])
	}
	if method != http.MethodHead {
		hdr.Set("Content-Length", strconv.Itoa(len(resp.Body)))
	}
	status := resp.Status
	if status == 0 {
		status = http.StatusBadGateway
	}
	w.WriteHeader(status)
	_, _ = w.Write(resp.Body)
}

func slogLevel(l hostcalls.LogLevel) slog.Level {
	switch {
	case l >= hostcalls.LogError:
		return slog.LevelError
	case l == hostcalls.LogWarn:
		return slog.LevelWarn
	case l == hostcalls.LogInfo:
		return slog.LevelInfo
	}
	return slog.LevelDebug
}

// errClusterUnknown is returned for a route naming a cluster without endpoint.
var errClusterUnknown = errors.New("unknown cluster")
