// SPDX-License-Identifier: Apache-2.0

package server_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credgate/credgate/tokencluster/internal/server"
	"github.com/credgate/credgate/tokencluster/internal/store"
)

// flakyStore fails or hangs Ping on demand.
type flakyStore struct {
	store.Store
	mode atomic.Int32 // 0 ok, 1 error, 2 hang until the context ends
}

func (f *flakyStore) Ping(ctx context.Context) error {
	switch f.mode.Load() {
	case 1:
		return errors.New("connection refused")
	case 2:
		<-ctx.Done()
		return ctx.Err()
	}
	return f.Store.Ping(ctx)
}

// TestLivenessReadiness: /livez answers while the process serves whatever
// the store does; /readyz (and its older name /healthz) follows the store,
// within the ready timeout, and fails once the server drains. Store up/down
// transitions are logged once each.
func TestLivenessReadiness(t *testing.T) {
	t.Parallel()
	fs := &flakyStore{Store: openBolt(t)}
	e := newEnvOn(t, fs, func(o *server.Options) { o.ReadyTimeout = 50 * time.Millisecond })
	steps := []struct {
		name        string
		mode        int32
		live, ready int
		drain       bool
		wantLog     string
	}{
		{name: "store answers", mode: 0, live: 200, ready: 200, wantLog: `"msg":"store up"`},
		{name: "store refuses", mode: 1, live: 200, ready: 503, wantLog: `"msg":"store down"`},
		{name: "store hangs past the ready timeout", mode: 2, live: 200, ready: 503},
		{name: "store back", mode: 0, live: 200, ready: 200},
		{name: "draining", mode: 0, live: 200, ready: 503, drain: true},
	}
	for _, st := range steps {
		fs.mode.Store(st.mode)
		if st.drain {
			e.server.Drain()
		}
		for path, want := range map[string]int{server.PathLive: st.live, server.PathReady: st.ready, "/healthz": st.ready} {
			if r := e.do(http.MethodGet, path, "", ""); r.status != want {
				t.Fatalf("%s: %s = %d, want %d (%s)", st.name, path, r.status, want, r.body)
			}
		}
		if st.wantLog != "" && !strings.Contains(e.logs.String(), st.wantLog) {
			t.Fatalf("%s: no %s line in %s", st.name, st.wantLog, e.logs.String())
		}
	}
	logs := e.logs.String()
	if n := strings.Count(logs, `"msg":"store down"`); n != 1 {
		t.Errorf("store down logged %d times over two failing steps, want once (a transition)", n)
	}
	if n := strings.Count(logs, `"msg":"store up"`); n != 2 {
		t.Errorf("store up logged %d times, want 2 (start, recovery)", n)
	}
}
