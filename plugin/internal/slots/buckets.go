// SPDX-License-Identifier: Apache-2.0

package slots

import (
	"bytes"
	"strconv"
	"time"
)

// Buckets is a bounded set of single-use ids (replay markers): Size keys,
// each holding up to PerKey live ids with their expiry. A claim reads the
// id's Probes buckets, then adds the id to the first with room by
// compare-and-swap, so two claims of one id cannot both succeed once the
// bucket exists (proxy-wasm cannot create a key atomically: the first write
// of a bucket is read back instead).
type Buckets struct {
	Prefix string
	Size   uint32
	PerKey int
	Probes int
}

// Keys returns how many keys the set can ever use.
func (b Buckets) Keys() int { return int(b.Size) }

func (b Buckets) table() Table { return Table{Prefix: b.Prefix, Size: b.Size, Probes: b.Probes} }

type marker struct {
	id      string
	expires int64
}

func parseBucket(v []byte, now time.Time) []marker {
	var out []marker
	for _, line := range bytes.Split(v, []byte{'\n'}) {
		id, ms, ok := bytes.Cut(line, []byte{' '})
		if !ok {
			continue
		}
		exp, err := strconv.ParseInt(string(ms), 10, 64)
		if err == nil && now.UnixMilli() < exp {
			out = append(out, marker{id: string(id), expires: exp})
		}
	}
	return out
}

func encodeBucket(ms []marker) []byte {
	var b []byte
	for i, m := range ms {
		if i > 0 {
			b = append(b, '\n')
		}
		b = append(b, m.id...)
		b = append(b, ' ')
		b = strconv.AppendInt(b, m.expires, 10)
	}
	return b
}

// Claim records the first use of id until expires: First when id was
// unused, Used when a live claim of id exists (or a concurrent claim won),
// Full when every bucket of id is full of live ids or shared data failed.
// An id must not contain spaces or newlines (callers pass hex digests).
func (b Buckets) Claim(s Store, id string, expires, now time.Time) Outcome {
	t := b.table()
	for attempt := 0; attempt < 4; attempt++ {
		at, cas, found := -1, uint32(0), false
		var room []marker
		for p := 0; p < t.probes(); p++ {
			v, c, ok, err := s.Get(t.slot(id, p))
			if err != nil {
				return Full
			}
			live := parseBucket(v, now)
			for _, m := range live {
				if m.id == id {
					return Used
				}
			}
			if at < 0 && len(live) < max(b.PerKey, 1) {
				at, cas, found, room = p, c, ok, live
			}
		}
		if at < 0 {
			return Full
		}
		if !found {
			cas = 0
		}
		key := t.slot(id, at)
		mine := append(room, marker{id: id, expires: expires.UnixMilli()})
		if s.Set(key, encodeBucket(mine), cas) != nil {
			continue // another claim changed the bucket: read it again
		}
		if found {
			return First // the cas made the write atomic
		}
		back, _, ok, err := s.Get(key)
		if err != nil || !ok {
			return Full
		}
		for _, m := range parseBucket(back, now) {
			if m.id == id {
				return First
			}
		}
		return Used
	}
	return Used
}
