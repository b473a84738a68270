// SPDX-License-Identifier: Apache-2.0

package cli

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/credgate/credgate/tokencluster/internal/metrics"
	"github.com/credgate/credgate/tokencluster/internal/server"
	"github.com/credgate/credgate/tokencluster/internal/store/bbolt"
)

// TestDrainOrder steps through a SIGTERM: readiness fails first while the
// service still accepts and answers (liveness stays up); only after the
// drain delay does the listener close, and a request in flight all along
// still completes with its answer.
func TestDrainOrder(t *testing.T) {
	st, err := bbolt.Open(filepath.Join(t.TempDir(), "tc.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m := metrics.New()
	srv, err := server.New(server.Options{Store: st, OpenVerify: true, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "finished")
	})
	mux.Handle("/", srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	delayStarted, delayOver := make(chan time.Duration, 1), make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, runConfig{ln: ln, h: mux, drain: srv.Drain, drainDelay: 7 * time.Second,
			shutdownTimeout: 30 * time.Second, logger: slog.New(slog.DiscardHandler),
			wait: func(d time.Duration) { delayStarted <- d; <-delayOver }})
	}()
	// Fresh connections each time: the point is whether the listener accepts.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	status := func(path string) (int, error) {
		resp, err := client.Get(base + path)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	for _, p := range []string{server.PathLive, server.PathReady, "/healthz"} {
		if code, err := status(p); err != nil || code != http.StatusOK {
			t.Fatalf("before SIGTERM %s = %d, %v; want 200", p, code, err)
		}
	}
	slow := make(chan string, 1)
	go func() {
		resp, err := client.Get(base + "/slow")
		if err != nil {
			slow <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		slow <- string(b)
	}()
	<-entered

	cancel() // SIGTERM
	if d := <-delayStarted; d != 7*time.Second {
		t.Fatalf("drain delay %v, want the configured 7s", d)
	}
	// Draining: still accepting, readiness fails, liveness holds, others are served.
	for p, want := range map[string]int{server.PathReady: 503, "/healthz": 503, server.PathLive: 200, "/v1/revocations": 200} {
		if code, err := status(p); err != nil || code != want {
			t.Fatalf("while draining %s = %d, %v; want %d", p, code, err, want)
		}
	}
	select {
	case err := <-done:
		t.Fatalf("run returned before the drain delay ended: %v", err)
	default:
	}

	close(delayOver) // the delay ends: Shutdown closes the listener, waits for /slow
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := status(server.PathLive); err != nil {
			break // no longer accepting
		}
		if time.Now().After(deadline) {
			t.Fatal("still accepting connections after the drain delay")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("run returned with a request in flight: %v", err)
	case got := <-slow:
		t.Fatalf("in-flight request ended before it was released: %s", got)
	default:
	}
	close(release)
	if got := <-slow; got != "finished" {
		t.Fatalf("in-flight request answered %q, want its full answer", got)
	}
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}
