// SPDX-License-Identifier: Apache-2.0

package hostcalls_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credgate/credgate/hostcalls"
)

// tokenServer is a loopback cluster: /ok answers 200 "granted", /moved
// redirects there, /slow
// answers after 300 ms, /cut sends its headers then closes the connection
// mid-body, /drop closes the connection before any response.
func tokenServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Seen-From", r.Header.Get("X-From")+"@"+r.Host)
		_, _ = w.Write([]byte("granted"))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(300 * time.Millisecond):
		case <-r.Context().Done():
		}
		_, _ = w.Write([]byte("late"))
	})
	mux.HandleFunc("/cut", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(200)
		_, _ = w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		conn, _, _ := w.(http.Hijacker).Hijack()
		_ = conn.Close()
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ok", http.StatusFound)
	})
	mux.HandleFunc("/drop", func(w http.ResponseWriter, r *http.Request) {
		conn, _, _ := w.(http.Hijacker).Hijack()
		_ = conn.Close()
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// refusedURL returns a loopback URL nothing listens on.
func refusedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return "http://" + addr
}

func dispatchReq(cluster, path, timeout string, extra ...[2]string) hostcalls.Request {
	return get("dispatch", append([][2]string{{"x-cluster", cluster}, {"x-call-path", path}, {"x-timeout", timeout}}, extra...)...)
}

type httpCallCase struct {
	name      string
	req       hostcalls.Request
	upstream  map[string]string // headers the upstream must see
	callout   *hostcalls.Callout
	noCallout bool
}

func httpCallCases() []httpCallCase {
	return []httpCallCase{
		{
			name: "pause, call, resume",
			req:  dispatchReq("tokens", "/ok", "5000"),
			upstream: map[string]string{"x-call-status": "200", "x-call-body": "granted", "x-call-get-status": "0:",
				"x-call-nheaders": "5/5"},
			callout: &hostcalls.Callout{Cluster: "tokens", ResponseStatus: 200},
		},
		{
			name:     "a redirect is the answer: the async client follows none",
			req:      dispatchReq("tokens", "/moved", "5000"),
			upstream: map[string]string{"x-call-status": "302"},
			callout:  &hostcalls.Callout{Cluster: "tokens", ResponseStatus: 302},
		},
		{
			name:      "unknown cluster is BadArgument and no callback",
			req:       dispatchReq("unknown", "/ok", "5000"),
			upstream:  map[string]string{"x-dispatch": "status=2"},
			noCallout: true,
		},
		{
			name:      "missing :authority is BadArgument",
			req:       dispatchReq("tokens", "/ok", "5000", [2]string{"x-call-authority", "none"}),
			upstream:  map[string]string{"x-dispatch": "status=2"},
			noCallout: true,
		},
		{
			name:     "timeout is the router's 504",
			req:      dispatchReq("tokens", "/slow", "50"),
			upstream: map[string]string{"x-call-status": "504", "x-call-body": "upstream request timeout", "x-call-get-status": "0:"},
			callout:  &hostcalls.Callout{Cluster: "tokens", ResponseStatus: 504, Failed: true},
		},
		{
			name: "refused connection is the router's 503",
			req:  dispatchReq("nowhere", "/ok", "5000"),
			upstream: map[string]string{"x-call-status": "503",
				"x-call-body": "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure, transport failure reason: delayed connect error: Connection refused"},
			callout: &hostcalls.Callout{Cluster: "nowhere", ResponseStatus: 503, Failed: true},
		},
		{
			name:     "connection closed before headers is the router's 503",
			req:      dispatchReq("tokens", "/drop", "5000"),
			upstream: map[string]string{"x-call-status": "503", "x-call-body": "upstream connect error or disconnect/reset before headers. reset reason: connection termination"},
			callout:  &hostcalls.Callout{Cluster: "tokens", ResponseStatus: 503, Failed: true},
		},
		{
			name:     "reset after headers is onFailure: no headers, no body, status BrokenConnection",
			req:      dispatchReq("tokens", "/cut", "5000"),
			upstream: map[string]string{"x-call-status": "", "x-call-nheaders": "0/0", "x-call-body": "", "x-call-get-status": "11:reset"},
			callout:  &hostcalls.Callout{Cluster: "tokens", ResponseStatus: 0, Failed: true},
		},
	}
}

func TestHTTPCall(t *testing.T) {
	t.Parallel()
	srv := tokenServer(t)
	cfg := hostcalls.NewConfig().WithCluster("tokens", srv.URL).WithCluster("nowhere", refusedURL(t)).WithVMs(2)
	h := newHost(t, hostcalls.ProfileEnvoy133, cfg)
	tests := httpCallCases()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			res, err := h.Do(ctx, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range tc.upstream {
				if got, _ := res.UpstreamHeader(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if tc.noCallout && len(res.Callouts) != 0 {
				t.Errorf("callouts = %+v", res.Callouts)
			}
			if tc.callout != nil {
				if len(res.Callouts) != 1 {
					t.Fatalf("callouts = %+v", res.Callouts)
				}
				c := res.Callouts[0]
				if c.Cluster != tc.callout.Cluster || c.ResponseStatus != tc.callout.ResponseStatus || c.Failed != tc.callout.Failed {
					t.Errorf("callout = %+v, want %+v", c, *tc.callout)
				}
			}
		})
	}
}

func TestHTTPCallRequestAndDeny(t *testing.T) {
	t.Parallel()
	srv := tokenServer(t)
	h := newHost(t, hostcalls.ProfileEnvoy139, hostcalls.NewConfig().WithCluster("tokens", srv.URL))
	res, err := h.Do(context.Background(), get("deny-on-call", [2]string{"x-cluster", "tokens"}, [2]string{"x-call-path", "/ok"}))
	if err != nil {
		t.Fatal(err)
	}
	if res.LocalResponse == nil || res.LocalResponse.Status != 401 || res.Upstream != nil {
		t.Fatalf("result = %+v", res)
	}
	c := res.Callouts[0]
	want := [][2]string{{":method", "GET"}, {":path", "/ok"}, {"x-from", "plugin"}, {":authority", "tokens"}}
	if len(c.Headers) != len(want) || c.Headers[2] != want[2] || c.Duration <= 0 {
		t.Fatalf("callout = %+v", c)
	}
}

// A stream paused on a call releases its VM: another stream on the same
// (single) VM completes while the call is held open.
func TestPausedStreamReleasesVM(t *testing.T) {
	t.Parallel()
	hold, arrived := make(chan struct{}), make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-hold
		_, _ = w.Write([]byte("late"))
	}))
	t.Cleanup(srv.Close)
	h := newHost(t, hostcalls.ProfileEnvoy133, hostcalls.NewConfig().WithCluster("tokens", srv.URL))
	slow := make(chan *hostcalls.Result, 1)
	go func() {
		res, _ := h.Do(context.Background(), dispatchReq("tokens", "/hold", "0"))
		slow <- res
	}()
	<-arrived // the first stream is paused on its call
	res, err := h.Do(context.Background(), get("set"))
	if err != nil || res.Response.Status != 200 {
		t.Fatalf("second stream: %v %+v", err, res)
	}
	select {
	case <-slow:
		t.Fatal("the paused stream finished before its call was answered")
	default:
	}
	close(hold)
	if r := <-slow; r == nil || mustHeader(t, r, "x-call-body") != "late" {
		t.Fatalf("paused stream: %+v", r)
	}
}

func mustHeader(t *testing.T, r *hostcalls.Result, name string) string {
	t.Helper()
	v, ok := r.UpstreamHeader(name)
	if !ok {
		t.Fatalf("no %s in %+v", name, r.Upstream)
	}
	return v
}

// Calls to a cluster reuse an idle connection, as Envoy's connection pool
// does, and Close drops the idle ones: 20 calls in a row open one
// connection, which is closed once the host is.
func TestHTTPCallsReuseConnections(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("granted")) })
	srv := httptest.NewUnstartedServer(mux)
	var opened, closed atomic.Int32
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			opened.Add(1)
		case http.StateClosed:
			closed.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	h, err := hostcalls.NewHost(context.Background(), guestModule(t, "abitest", hostcalls.ProfileEnvoy139), hostcalls.NewConfig().WithCluster("tokens", srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		res, err := h.Do(context.Background(), dispatchReq("tokens", "/ok", "5000"))
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := res.UpstreamHeader("x-call-status"); got != "200" {
			t.Fatalf("call %d: x-call-status = %q", i, got)
		}
	}
	if n := opened.Load(); n != 1 {
		t.Errorf("20 calls opened %d connections, want 1", n)
	}
	if err := h.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for closed.Load() != opened.Load() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if c, o := closed.Load(), opened.Load(); c != o {
		t.Errorf("after Close: %d of %d connections closed", c, o)
	}
}
