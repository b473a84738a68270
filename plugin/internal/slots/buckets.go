// SPDX-License-Identifier: Apache-2.0

package slots

import (
	"bytes"
	"math"
	"strconv"
	"time"
)

// Buckets is a bounded set of single-use ids (replay markers): Size keys,
// each holding up to PerKey live ids with their expiry. A claim reads the
// id's Probes buckets, then adds the id to the first with room, by
// compare-and-swap (a missing bucket is created with createCas, which
// succeeds only if it is still missing), so two claims of one id cannot both
// succeed. When every bucket of an id is full, the marker expiring first is
// evicted and the bucket's floor rises to its expiry: a claim that expires at
// or before the floor of any of its buckets is refused, since its marker may
// be the evicted one. Fresh ids (expiring later than the evicted ones) always
// fit, so capacity costs no availability, and replays stay refused.
type Buckets struct {
	Prefix string
	Size   uint32
	PerKey int
	Probes int
}

// createCas is a cas no existing key has: Envoy (cpp-host shared_data.cc)
// creates a missing key whatever the cas, and refuses a mismatching cas on an
// existing one, so writing with it creates the key only if it is missing.
const createCas = math.MaxUint32

// Keys returns how many keys the set can ever use.
func (b Buckets) Keys() int { return int(b.Size) }

func (b Buckets) table() Table { return Table{Prefix: b.Prefix, Size: b.Size, Probes: b.Probes} }

type marker struct {
	id      string
	expires int64
}

type bucket struct {
	floor   int64
	markers []marker // live ones
}

const floorPrefix = "floor "

func parseBucket(v []byte, now time.Time) bucket {
	var b bucket
	for _, line := range bytes.Split(v, []byte{'\n'}) {
		if f, ok := bytes.CutPrefix(line, []byte(floorPrefix)); ok {
			b.floor, _ = strconv.ParseInt(string(f), 10, 64)
			continue
		}
		id, ms, ok := bytes.Cut(line, []byte{' '})
		if !ok {
			continue
		}
		exp, err := strconv.ParseInt(string(ms), 10, 64)
		if err == nil && now.UnixMilli() < exp {
			b.markers = append(b.markers, marker{id: string(id), expires: exp})
		}
	}
	return b
}

func (b bucket) encode() []byte {
	out := append([]byte(floorPrefix), strconv.FormatInt(b.floor, 10)...)
	for _, m := range b.markers {
		out = append(out, '\n')
		out = append(out, m.id...)
		out = append(out, ' ')
		out = strconv.AppendInt(out, m.expires, 10)
	}
	return out
}

func (b bucket) has(id string) bool {
	for _, m := range b.markers {
		if m.id == id {
			return true
		}
	}
	return false
}

// Claim records the first use of id until expires: First when id was
// unused, Used when a live claim of id exists, its marker may have been
// evicted, or a concurrent claim won, Full when shared data failed. An id
// must not contain spaces or newlines (callers pass hex digests).
func (b Buckets) Claim(s Store, id string, expires, now time.Time) Outcome {
	t := b.table()
	exp := expires.UnixMilli()
	for attempt := 0; attempt < 4; attempt++ {
		at, cas, found := -1, uint32(0), false
		var chosen, first bucket
		var firstCas uint32
		firstFound := false
		for p := 0; p < t.probes(); p++ {
			v, c, ok, err := s.Get(t.slot(id, p))
			if err != nil {
				return Full
			}
			bk := parseBucket(v, now)
			if bk.has(id) || exp <= bk.floor {
				return Used
			}
			if p == 0 {
				first, firstCas, firstFound = bk, c, ok
			}
			if at < 0 && len(bk.markers) < max(b.PerKey, 1) {
				at, cas, found, chosen = p, c, ok, bk
			}
		}
		if at < 0 { // every bucket full: evict the first bucket's oldest marker
			at, cas, found, chosen = 0, firstCas, firstFound, first
			oldest := 0
			for i, m := range chosen.markers {
				if m.expires < chosen.markers[oldest].expires {
					oldest = i
				}
			}
			chosen.floor = max(chosen.floor, chosen.markers[oldest].expires)
			chosen.markers = append(chosen.markers[:oldest], chosen.markers[oldest+1:]...)
			if exp <= chosen.floor {
				return Used
			}
		}
		if !found {
			cas = createCas
		}
		chosen.markers = append(chosen.markers, marker{id: id, expires: exp})
		if s.Set(t.slot(id, at), chosen.encode(), cas) != nil {
			continue // another claim changed or created the bucket: read again
		}
		// A claim racing on another bucket of the same id (both found room
		// in different buckets) must not also win.
		for p := 0; p < t.probes(); p++ {
			if p == at {
				continue
			}
			v, _, _, err := s.Get(t.slot(id, p))
			if err != nil || parseBucket(v, now).has(id) {
				return Used
			}
		}
		return First
	}
	return Used
}
