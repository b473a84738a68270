// SPDX-License-Identifier: Apache-2.0

package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/credgate/credgate/tokencluster/internal/logging"
)

// TestRedisLogsAsJSON: go-redis's own log lines go through slog as JSON
// records (level WARN, component go-redis) carrying the request's ids.
func TestRedisLogsAsJSON(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(logging.NewHandler(slog.NewJSONHandler(&buf, nil)))
	goredis.SetLogger(logging.Redis{L: logger})
	defer goredis.SetLogger(logging.Redis{L: slog.New(slog.DiscardHandler)})
	// Nothing listens on port 1; go-redis logs the sub-millisecond expiry
	// it truncates before it tries to connect.
	c := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer c.Close()
	ctx := logging.WithRequest(context.Background(), "req-1", "")
	_ = c.Set(ctx, "k", "v", 500*time.Microsecond).Err()
	var rec map[string]any
	line, _, _ := strings.Cut(buf.String(), "\n")
	if err := json.Unmarshal([]byte(line), &rec); err != nil {
		t.Fatalf("go-redis line %q is not JSON: %v", buf.String(), err)
	}
	if rec["level"] != "WARN" || rec["component"] != "go-redis" || rec["request_id"] != "req-1" ||
		!strings.Contains(rec["msg"].(string), "truncating to 1ms") {
		t.Fatalf("go-redis record %v", rec)
	}
}

// TestHandlerKeepsAttrsAndGroups: the correlation ids survive With and WithGroup.
func TestHandlerKeepsAttrsAndGroups(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(logging.NewHandler(slog.NewJSONHandler(&buf, nil))).With("svc", "tc")
	ctx := logging.WithRequest(context.Background(), "r-2", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	l.InfoContext(ctx, "x")
	out := buf.String()
	for _, want := range []string{`"svc":"tc"`, `"request_id":"r-2"`, `"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"`} {
		if !strings.Contains(out, want) {
			t.Errorf("%s lacks %s", out, want)
		}
	}
	if logging.RequestID(ctx) != "r-2" || logging.RequestID(context.Background()) != "" {
		t.Error("RequestID does not read the context")
	}
	if got := logging.WithRequest(context.Background(), "bad id", "nope"); logging.RequestID(got) != "" || logging.Traceparent(got) != "" {
		t.Error("malformed ids kept")
	}
}
