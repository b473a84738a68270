// SPDX-License-Identifier: Apache-2.0

package cache

import (
	"strings"

	"github.com/credgate/credgate/plugin/internal/authn"
)

// MaxRefreshes bounds the lookups waiting in a Refreshes queue; a lookup
// pushed to a full queue is dropped (its session slides at a later hit).
const MaxRefreshes = 256

// Refreshes is the queue of background lookups (a session's sliding
// expiry) a VM sends from its own context at the next tick, not from the
// stream that found them due: the proxy cancels, and the SDK drops the
// answer of, a call whose stream has ended, and a hit's stream ends soon.
// What it holds refers to nothing of the stream: the lookup is detached and
// the correlation headers are copied.
type Refreshes struct {
	items []refresh
}

type refresh struct {
	lk    *authn.Lookup
	trace [][2]string
}

// Push queues lk (detached here) with its correlation headers (copied
// here); false when the queue is full.
func (q *Refreshes) Push(lk *authn.Lookup, trace [][2]string) bool {
	if len(q.items) >= MaxRefreshes {
		return false
	}
	own := make([][2]string, len(trace))
	for i, kv := range trace {
		own[i] = [2]string{strings.Clone(kv[0]), strings.Clone(kv[1])}
	}
	q.items = append(q.items, refresh{lk: lk.Detached(), trace: own})
	return true
}

// Take empties the queue and returns what it held, oldest first.
func (q *Refreshes) Take() (lks []*authn.Lookup, traces [][][2]string) {
	for _, r := range q.items {
		lks, traces = append(lks, r.lk), append(traces, r.trace)
	}
	clear(q.items)
	q.items = q.items[:0]
	return lks, traces
}

// Len is the number of queued lookups.
func (q *Refreshes) Len() int { return len(q.items) }
