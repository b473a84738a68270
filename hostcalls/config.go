// SPDX-License-Identifier: Apache-2.0

package hostcalls

import (
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/credgate/credgate/hostcalls/internal/abi"
)

// Config configures a Host. It is immutable: each With method returns a
// copy.
type Config struct {
	vms          int
	vmConfig     []byte
	pluginConfig []byte
	pluginName   string
	clusters     map[string]string
	upstream     http.Handler
	now          func() time.Time
	autoTick     bool
	stderr       io.Writer
	gcPressure   int
	logLevel     LogLevel
	env          []string
	guestClock   bool
	logSink      func(LogEntry)
}

// NewConfig returns the defaults: one VM, no configuration, plugin name
// "credgate", no clusters, an echo upstream, the wall clock, no automatic
// ticks, every log level captured.
func NewConfig() Config {
	return Config{vms: 1, pluginName: "credgate", now: time.Now, logLevel: LogTrace}
}

func (c Config) clone() Config {
	c.clusters = maps.Clone(c.clusters)
	c.env = slices.Clone(c.env)
	return c
}

// WithVMs sets how many VMs run the plugin (Envoy runs one per worker
// thread). Streams are spread over them round-robin. Values below 1 mean 1.
func (c Config) WithVMs(n int) Config {
	c = c.clone()
	c.vms = max(n, 1)
	return c
}

// WithVMConfig sets the VM configuration, read by the plugin through
// proxy_get_buffer_bytes(VmConfiguration).
func (c Config) WithVMConfig(b []byte) Config {
	c = c.clone()
	c.vmConfig = append([]byte(nil), b...)
	return c
}

// WithPluginConfig sets the plugin configuration, read through
// proxy_get_buffer_bytes(PluginConfiguration) during proxy_on_vm_start and
// proxy_on_configure.
func (c Config) WithPluginConfig(b []byte) Config {
	c = c.clone()
	c.pluginConfig = append([]byte(nil), b...)
	return c
}

// WithPluginName sets the plugin name, which is also its root_id and vm_id
// (properties plugin_name, plugin_root_id, plugin_vm_id). Default "credgate".
func (c Config) WithPluginName(name string) Config {
	c = c.clone()
	c.pluginName = name
	return c
}

// WithCluster maps a cluster name of proxy_http_call to a base URL such as
// "http://127.0.0.1:8081": a call to ":path" /x goes to baseURL + "/x" over
// real TCP.
func (c Config) WithCluster(name, baseURL string) Config {
	c = c.clone()
	if c.clusters == nil {
		c.clusters = map[string]string{}
	}
	c.clusters[name] = baseURL
	return c
}

// WithUpstream sets where continued requests go. The default answers 200
// with a JSON object holding the method, path, host and headers it received.
func (c Config) WithUpstream(h http.Handler) Config {
	c = c.clone()
	c.upstream = h
	return c
}

// FixedUpstream returns an upstream for WithUpstream that answers every
// request with status (0 is 200), headers and body without reading it: the
// host then builds no http.Request for it, so a benchmark measures the
// plugin and the host's ABI rather than a simulated upstream whose cost
// grows with every header the plugin adds (in Envoy the router pays for the
// upstream, not the filter). The filter state and the forwarded headers are
// still in the Result.
func FixedUpstream(status int, headers [][2]string, body []byte) http.Handler {
	return abi.NewFixedUpstream(status, headers, body)
}

// WithClock sets the time the guest sees: WASI clock_time_get (realtime;
// the monotonic clock follows jumps of this clock and never goes back) and
// proxy_get_current_time_nanoseconds. Default time.Now.
func (c Config) WithClock(now func() time.Time) Config {
	c = c.clone()
	c.now = now
	return c
}

// WithAutoTick runs a background ticker that calls proxy_on_tick on each VM
// at the period it set. Off by default: tests call Host.Tick.
func (c Config) WithAutoTick(on bool) Config {
	c = c.clone()
	c.autoTick = on
	return c
}

// WithStderr receives a copy of what the guest writes to fd 1 and 2 (a Go
// panic prints there). Whatever this setting, the output is also captured in
// Host.Logs as Envoy logs it: fd 1 at info level, fd 2 at error level.
func (c Config) WithStderr(w io.Writer) Config {
	c = c.clone()
	c.stderr = w
	return c
}

// WithGCPressure is a test knob: after the host writes a buffer it returns
// into guest memory, and before the host call returns, the host asks the
// guest (via proxy_on_memory_allocate) for bytes more memory in chunks of the
// returned buffer's size (at least bytes/4096, so at most 4096 calls). This
// lets the guest's collector run between the host's write and the guest's
// read. 0, the default, is off.
func (c Config) WithGCPressure(bytes int) Config {
	c = c.clone()
	c.gcPressure = max(bytes, 0)
	return c
}

// WithLogLevel sets the level answered by proxy_get_log_level; lower
// messages are dropped, as Envoy drops messages below its "wasm" logger's
// level. Default LogTrace (everything captured; Envoy's default is info).
func (c Config) WithLogLevel(l LogLevel) Config {
	c = c.clone()
	c.logLevel = l
	return c
}

// WithEnv adds a variable to the VM environment, as Envoy's
// vm_config.environment_variables (key_values, or host_env_keys copied from
// Envoy's own environment) does. The module reads it through WASI
// environ_get; the Go runtime reads GOGC, GOMEMLIMIT and GODEBUG from it
// when the VM starts. A key set twice keeps its last value.
func (c Config) WithEnv(key, value string) Config {
	c = c.clone()
	c.env = slices.DeleteFunc(c.env, func(e string) bool { return strings.HasPrefix(e, key+"=") })
	c.env = append(c.env, key+"="+value)
	return c
}

// WithGuestTimeClock makes each VM's monotonic clock (WASI clock_time_get
// with the monotonic id, which the Go runtime's nanotime reads) advance only
// while guest code runs: time spent in host functions and between callbacks
// is not counted. Envoy's own work per callback is small next to this
// emulator's, so with the wall clock a module here sees far more time pass
// outside its own code than it would in Envoy; its Go runtime then judges
// its collector's share of CPU time much lower than in Envoy. This clock
// makes that share what the guest's code alone costs, the worst case of a
// fast host. The realtime clock still follows the configured clock; the
// monotonic clock then ignores it.
func (c Config) WithGuestTimeClock(on bool) Config {
	c = c.clone()
	c.guestClock = on
	return c
}

// WithLogSink calls sink with every log line WithLogLevel lets through, as
// the plugin (or the host) logs it, in order per VM. Host.Logs keeps only the
// newest lines; a sink sees them all. The
// sink runs on the VM's goroutine: it must not call back into the Host.
func (c Config) WithLogSink(sink func(LogEntry)) Config {
	c = c.clone()
	c.logSink = sink
	return c
}

func (c Config) options() abi.Options {
	up := c.upstream
	if up == nil {
		up = abi.EchoHandler()
	}
	o := abi.Options{
		VMs: c.vms, VMConfig: c.vmConfig, PluginConfig: c.pluginConfig, PluginName: c.pluginName,
		Clusters: maps.Clone(c.clusters), Upstream: up, Now: c.now, Stderr: c.stderr,
		GCPressure: c.gcPressure, LogLevel: abi.LogLevel(c.logLevel), AutoTick: c.autoTick,
		Env: slices.Clone(c.env), GuestClock: c.guestClock,
	}
	if sink := c.logSink; sink != nil {
		o.LogSink = func(e abi.LogEntry) { sink(LogEntry{VM: e.VM, Level: LogLevel(e.Level), Message: e.Message}) }
	}
	return o
}
