// SPDX-License-Identifier: Apache-2.0

package hostcalls_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/credgate/credgate/hostcalls"
)

func get(action string, extra ...[2]string) hostcalls.Request {
	return hostcalls.Request{Method: "GET", Path: "/p?q=1", Authority: "api.example",
		Headers: append([][2]string{{"X-Test-Action", action}}, extra...)}
}

func TestHeaders(t *testing.T) {
	t.Parallel()
	h := newHost(t, hostcalls.ProfileEnvoy133, hostcalls.NewConfig())
	tests := []struct {
		name   string
		req    hostcalls.Request
		header string
		want   string
		absent bool
	}{
		{name: "add", req: get("set"), header: "x-added", want: "yes"},
		{name: "replace pseudo header", req: get("set"), header: ":path", want: "/rewritten"},
		{name: "replace regular header", req: get("set", [2]string{"X-Replace", "old"}, [2]string{"x-replace", "older"}), header: "x-replace", want: "new"},
		{name: "remove", req: get("set", [2]string{"X-Remove", "secret"}), header: "x-remove", absent: true},
		{name: "get :method", req: get("read"), header: "x-read-method", want: "GET/0"},
		{name: "get :path", req: get("read"), header: "x-read-path", want: "/p?q=1/0"},
		{name: "get :authority", req: get("read"), header: "x-read-authority", want: "api.example/0"},
		{name: "get :scheme", req: get("read"), header: "x-read-scheme", want: "http/0"},
		{name: "missing header is NotFound", req: get("read"), header: "x-read-x-missing", want: "/1"},
		{name: "response map unavailable in request phase", req: get("read"), header: "x-read-response-map", want: "2"},
		{name: "names lowercased", req: get("read", [2]string{"X-Mixed-Case", "v"}), header: "x-mixed-case", want: "v"},
		{name: "connection manager adds x-forwarded-proto", req: get("read"), header: "x-forwarded-proto", want: "http"},
		{name: "pairs order", req: get("pairs", [2]string{"x-request-id", "rid"}), header: "x-pairs",
			want: ":authority,:path,:method,:scheme,x-test-action,x-request-id,x-forwarded-proto"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := h.Do(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			v, ok := res.UpstreamHeader(tc.header)
			if tc.absent {
				if ok {
					t.Fatalf("%s = %q, want absent", tc.header, v)
				}
				return
			}
			if !ok || v != tc.want {
				t.Fatalf("%s = %q (%v), want %q", tc.header, v, ok, tc.want)
			}
		})
	}
}

func TestEchoUpstreamSeesChanges(t *testing.T) {
	t.Parallel()
	h := newHost(t, hostcalls.ProfileEnvoy133, hostcalls.NewConfig())
	res, err := h.Do(context.Background(), get("set", [2]string{"x-remove", "gone"}))
	if err != nil {
		t.Fatal(err)
	}
	var echo struct {
		Method, Path, Host string
		Headers            map[string]string
	}
	if err := json.Unmarshal(res.Response.Body, &echo); err != nil {
		t.Fatal(err)
	}
	if echo.Path != "/rewritten" || echo.Host != "api.example" || echo.Headers["x-added"] != "yes" || echo.Headers["x-remove"] != "" {
		t.Fatalf("echo = %+v", echo)
	}
	if res.Response.Status != 200 {
		t.Fatalf("status %d", res.Response.Status)
	}
	if v, _ := res.ResponseHeader("x-response-seen"); v != "yes" {
		t.Fatalf("response headers %v", res.Response.Headers)
	}
}

func TestLocalResponse(t *testing.T) {
	t.Parallel()
	h := newHost(t, hostcalls.ProfileEnvoy133, hostcalls.NewConfig())
	res, err := h.Do(context.Background(), get("local"))
	if err != nil {
		t.Fatal(err)
	}
	lr := res.LocalResponse
	if lr == nil || lr.Status != 403 || string(lr.Body) != "no" || lr.Details != "test_details" || lr.GRPCStatus != -1 ||
		!slices.Equal(lr.Headers, [][2]string{{"x-reason", "test"}}) {
		t.Fatalf("local response = %+v", lr)
	}
	if res.Upstream != nil {
		t.Fatal("request reached the upstream")
	}
	want := [][2]string{{"x-reason", "test"}, {"content-length", "2"}, {"content-type", "text/plain"}, {"x-response-seen", "yes"}}
	if res.Response.Status != 403 || string(res.Response.Body) != "no" || !slices.Equal(res.Response.Headers, want) {
		t.Fatalf("response = %+v", res.Response)
	}
}

func TestRequestBody(t *testing.T) {
	t.Parallel()
	var got string
	up := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = string(b)
		w.WriteHeader(201)
	})
	h := newHost(t, hostcalls.ProfileEnvoy133, hostcalls.NewConfig().WithUpstream(up))
	req := get("upper-body")
	req.Method, req.Body = "POST", []byte("payload")
	res, err := h.Do(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got != "PAYLOAD" || string(res.Upstream.Body) != "PAYLOAD" || res.Response.Status != 201 {
		t.Fatalf("upstream got %q, result %+v", got, res.Upstream)
	}
	// Envoy forwarded the headers before the body callback changed them.
	if v, ok := res.UpstreamHeader("x-body-seen"); ok {
		t.Fatalf("a header added in proxy_on_request_body reached the upstream: %q", v)
	}
}

// A local response from the body callback comes after Envoy has forwarded
// the request headers: the upstream saw them, then a reset.
func TestDenyInBodyAfterHeadersForwarded(t *testing.T) {
	t.Parallel()
	h := newHost(t, hostcalls.ProfileEnvoy133, hostcalls.NewConfig())
	req := get("deny-body")
	req.Method, req.Body = "POST", []byte("payload")
	res, err := h.Do(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.LocalResponse == nil || res.LocalResponse.Status != 400 || res.Response.Status != 400 {
		t.Fatalf("result = %+v", res)
	}
	if res.Upstream == nil || !res.Upstream.Aborted || len(res.Upstream.Body) != 0 {
		t.Fatalf("upstream = %+v", res.Upstream)
	}
	if v, _ := res.UpstreamHeader(":method"); v != "POST" {
		t.Fatalf(":method = %q", v)
	}
	res, err = h.Do(context.Background(), get("deny-body"))
	if err != nil || res.Upstream == nil || res.Upstream.Aborted || res.LocalResponse != nil {
		t.Fatalf("without a body there is no body callback to deny: %+v, %v", res, err)
	}
}

// The VM configuration is readable at any time; the plugin configuration
// only while proxy_on_vm_start and proxy_on_configure run.
func TestConfigurationBuffersDuringRequest(t *testing.T) {
	t.Parallel()
	h := newHost(t, hostcalls.ProfileEnvoy133, hostcalls.NewConfig().WithVMConfig([]byte("vmc")).WithPluginConfig([]byte("pc")))
	res, err := h.Do(context.Background(), get("read-config"))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := res.UpstreamHeader("x-config"); v != "vmc/0 /1 bad/2" {
		t.Fatalf("x-config = %q", v)
	}
}

func TestTrailersReachUpstream(t *testing.T) {
	t.Parallel()
	h := newHost(t, hostcalls.ProfileEnvoy133, hostcalls.NewConfig())
	req := get("set")
	req.Method, req.Body, req.Trailers = "POST", []byte("b"), [][2]string{{"Grpc-Status", "0"}}
	res, err := h.Do(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Upstream.Trailers, [][2]string{{"grpc-status", "0"}}) {
		t.Fatalf("trailers = %v", res.Upstream.Trailers)
	}
}

func TestCloseStream(t *testing.T) {
	t.Parallel()
	h := newHost(t, hostcalls.ProfileEnvoy133, hostcalls.NewConfig())
	res, err := h.Do(context.Background(), get("close"))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Reset || res.Upstream != nil || res.Response.Status != 0 {
		t.Fatalf("result = %+v", res)
	}
}

func TestPauseWithNothingPendingIsAnError(t *testing.T) {
	t.Parallel()
	h := newHost(t, hostcalls.ProfileEnvoy133, hostcalls.NewConfig())
	_, err := h.Do(context.Background(), get("pause"))
	if err == nil || !strings.Contains(err.Error(), "paused") {
		t.Fatalf("err = %v", err)
	}
}

func TestTrapFailsVMClosed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		profile hostcalls.Profile
		stderr  string // what the Go runtime manages to print
	}{
		// The Go runtime sleeps while it freezes the world for a fatal panic;
		// the poll_oneoff stub fails that sleep and the panic message is lost.
		{name: "envoy-1.33 loses the panic message", profile: hostcalls.ProfileEnvoy133, stderr: "fatal error: wasi_snapshot_preview1.poll_oneoff"},
		{name: "envoy-1.39 prints the panic", profile: hostcalls.ProfileEnvoy139, stderr: "assignment to entry in nil map"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stderr strings.Builder
			h := newHost(t, tc.profile, hostcalls.NewConfig().WithStderr(&stderr))
			for i := 0; i < 2; i++ { // the trapping stream, then a stream on the failed VM
				res, err := h.Do(context.Background(), get("trap"))
				if err != nil {
					t.Fatal(err)
				}
				if res.LocalResponse == nil || res.LocalResponse.Status != 503 || res.LocalResponse.Details != "wasm_fail_stream" || res.Response.Status != 503 {
					t.Fatalf("request %d: %+v", i, res)
				}
			}
			traps := h.Traps()
			if len(traps) != 1 || !strings.Contains(traps[0].Error(), "proxy_on_request_headers") {
				t.Fatalf("traps = %v", traps)
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Fatalf("stderr lacks %q:\n%s", tc.stderr, stderr.String())
			}
			if !hasLog(h, hostcalls.LogError, strings.TrimSpace(tc.stderr[strings.LastIndex(tc.stderr, ":")+1:])) {
				t.Fatalf("stderr not captured in logs at error level")
			}
		})
	}
}

func hasLog(h *hostcalls.Host, level hostcalls.LogLevel, substr string) bool {
	for _, e := range h.Logs() {
		if e.Level == level && strings.Contains(e.Message, substr) {
			return true
		}
	}
	return false
}

// While the host runs the module's allocator only proxy_log, fd_write and
// clock_time_get may be called (cpp-host WasmBase::allocMemory); anything
// else fails the VM.
func TestRestrictedCallDuringAllocation(t *testing.T) {
	t.Parallel()
	h := newHost(t, hostcalls.ProfileEnvoy139, hostcalls.NewConfig())
	res, err := h.Do(context.Background(), get("alloc-restricted"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Response.Status != 503 {
		t.Fatalf("status %d", res.Response.Status)
	}
	traps := h.Traps()
	if len(traps) != 1 || !strings.Contains(traps[0].Error(), "restricted_callback") {
		t.Fatalf("traps = %v", traps)
	}
	if !hasLog(h, hostcalls.LogError, "env.proxy_get_current_time_nanoseconds while restricted") {
		t.Fatalf("logs = %+v", h.Logs())
	}
}

func TestDoAfterClose(t *testing.T) {
	t.Parallel()
	h, err := hostcalls.NewHost(context.Background(), guestModule(t, "abitest", hostcalls.ProfileEnvoy133), hostcalls.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := h.Do(context.Background(), get("set")); err == nil {
		t.Fatal("Do after Close succeeded")
	}
}

// A local response from proxy_on_response_body comes after the response
// headers went to the client: Envoy can only reset the stream.
func TestLocalResponseTooLate(t *testing.T) {
	t.Parallel()
	h := newHost(t, hostcalls.ProfileEnvoy133, hostcalls.NewConfig())
	res, err := h.Do(context.Background(), get("deny-response-body"))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Reset || res.LocalResponse == nil || res.LocalResponse.Status != 502 || res.Response.Status != 200 || res.Upstream == nil {
		t.Fatalf("result = %+v", res)
	}
}
