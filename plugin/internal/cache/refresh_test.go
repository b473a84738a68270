// SPDX-License-Identifier: Apache-2.0

package cache

import (
	"testing"
	"unsafe"

	"github.com/credgate/credgate/plugin/internal/authn"
)

// TestRefreshesKeepNothingOfTheStream: a queued refresh survives the
// stream's header bytes being rewritten, and the queue is bounded.
func TestRefreshesKeepNothingOfTheStream(t *testing.T) {
	var q Refreshes
	buf := []byte("session-token-aaaa|req-id-1")
	view := unsafe.String(&buf[0], len(buf))
	lk := authn.NewLookup("session_token", view[:18], view[:18])
	want := string(lk.AppendKey(nil))
	if !q.Push(lk, [][2]string{{"x-request-id", view[19:]}}) {
		t.Fatal("an empty queue refused a refresh")
	}
	copy(buf, "session-token-bbbb|req-id-2")
	lks, traces := q.Take()
	if len(lks) != 1 || string(lks[0].AppendKey(nil)) != want || traces[0][0][1] != "req-id-1" {
		t.Fatalf("the queued refresh changed with the stream's bytes: %q %q", lks[0].AppendKey(nil), traces[0])
	}
	if q.Len() != 0 {
		t.Fatal("Take left the queue full")
	}
	for i := 0; i < MaxRefreshes; i++ {
		q.Push(lk, nil)
	}
	if q.Push(lk, nil) || q.Len() != MaxRefreshes {
		t.Fatalf("the queue grew past its bound: %d", q.Len())
	}
}
