// SPDX-License-Identifier: Apache-2.0

// Package slots keeps bounded tables in the proxy's shared data: a Table of
// expiring entries (shared answers) and Buckets of single-use ids (replay
// markers).
//
// Proxy-wasm shared data cannot delete a key, so a key per credential grows
// without bound: every distinct token seen would stay in the proxy's memory
// for good. A Table is a fixed set of keys (prefix + slot number) addressed
// by a hash of an entry's id; each value carries the full id and its expiry,
// so a reader checks both, and a slot whose entry expired is reused. A slot
// is looked up at the id's hash and the next Probes-1 slots (open
// addressing): the number of keys never passes Size.
package slots

import (
	"bytes"
	"strconv"
	"time"
	"unsafe"
)

// Store is the proxy's shared data. Set with cas 0 writes unconditionally
// (Envoy's semantics); a non-zero cas that does not match fails. Get's key
// is valid only during the call (GetInto reuses its bytes): an
// implementation that keeps it must copy it.
type Store interface {
	Get(key string) (value []byte, cas uint32, found bool, err error)
	Set(key string, value []byte, cas uint32) error
}

// Table is a bounded table of expiring entries.
type Table struct {
	Prefix string // e.g. "credgate/v2/c/"
	Size   uint32 // number of slots (keys), at least 1
	Probes int    // slots tried per id, at least 1
}

// Keys returns how many keys the table can ever use.
func (t Table) Keys() int { return int(t.Size) }

func (t Table) slot(id string, probe int) string {
	var b [64]byte
	return string(t.appendSlot(b[:0], id, probe))
}

// appendSlot appends the key of id's slot at probe to dst.
func (t Table) appendSlot(dst []byte, id string, probe int) []byte {
	return strconv.AppendUint(append(dst, t.Prefix...), uint64((fnv32a(id)+uint32(probe))%max(t.Size, 1)), 10)
}

// fnv32a is hash/fnv's New32a sum of s, without its allocations.
func fnv32a(s string) uint32 {
	const offset, prime = 2166136261, 16777619
	h := uint32(offset)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * prime
	}
	return h
}

func (t Table) probes() int { return max(1, min(t.Probes, int(max(t.Size, 1)))) }

// entry is a slot's decoded value: id, expiry (unix ms) and payload.
type entry struct {
	id      []byte
	expires int64
	payload []byte
}

func encode(id string, expires time.Time, payload []byte) []byte {
	b := make([]byte, 0, len(id)+len(payload)+24)
	b = append(b, id...)
	b = append(b, '\n')
	b = strconv.AppendInt(b, expires.UnixMilli(), 10)
	b = append(b, '\n')
	return append(b, payload...)
}

func decode(v []byte) (entry, bool) {
	i := bytes.IndexByte(v, '\n')
	if i < 0 {
		return entry{}, false
	}
	j := bytes.IndexByte(v[i+1:], '\n')
	if j < 0 {
		return entry{}, false
	}
	ms, err := strconv.ParseInt(string(v[i+1:i+1+j]), 10, 64)
	if err != nil {
		return entry{}, false
	}
	return entry{id: v[:i], expires: ms, payload: v[i+2+j:]}, true
}

func (e entry) live(now time.Time) bool { return now.UnixMilli() < e.expires }

// Get returns the payload stored for id, if it has not expired.
func (t Table) Get(s Store, id string, now time.Time) ([]byte, bool) {
	var key []byte
	return t.GetInto(s, id, now, &key)
}

// GetInto is Get with the slots' keys made in *key, a buffer the caller
// keeps, so a warm lookup allocates nothing.
func (t Table) GetInto(s Store, id string, now time.Time, key *[]byte) ([]byte, bool) {
	for p := 0; p < t.probes(); p++ {
		*key = t.appendSlot((*key)[:0], id, p)
		v, _, found, err := s.Get(unsafe.String(unsafe.SliceData(*key), len(*key)))
		if err != nil || !found {
			// A slot never written ends the probe sequence: Put takes the
			// first free slot, so nothing for id lies past it.
			return nil, false
		}
		if e, ok := decode(v); ok && string(e.id) == id {
			if e.live(now) {
				return e.payload, true
			}
			return nil, false
		}
	}
	return nil, false
}

// find scans id's slots: where id is stored (live or not), else the first
// free slot (never written, or expired); at is -1 when every slot holds
// another live id.
func (t Table) find(s Store, id string, now time.Time) (at int, cur entry, cas uint32, found bool, err error) {
	at = -1
	var freeCas uint32
	freeFound := false
	for p := 0; p < t.probes(); p++ {
		v, c, ok, err := s.Get(t.slot(id, p))
		if err != nil {
			return -1, entry{}, 0, false, err
		}
		if !ok {
			if at < 0 {
				return p, entry{}, 0, false, nil
			}
			break
		}
		e, valid := decode(v)
		if valid && string(e.id) == id {
			return p, e, c, true, nil
		}
		if at < 0 && (!valid || !e.live(now)) {
			at, freeCas, freeFound = p, c, true
		}
	}
	return at, entry{}, freeCas, freeFound, nil
}

// Put stores payload for id until expires, in id's own slot or the first
// free one. It reports false when every slot holds another live entry (the
// entry is then simply not shared) or shared data failed.
func (t Table) Put(s Store, id string, payload []byte, expires, now time.Time) bool {
	at, _, cas, found, err := t.find(s, id, now)
	if err != nil || at < 0 {
		return false
	}
	if !found {
		cas = createCas // create only if still missing
	}
	return s.Set(t.slot(id, at), encode(id, expires, payload), cas) == nil
}

// Outcome of Claim.
type Outcome int

// Claim outcomes.
const (
	First Outcome = iota // id was unused and is now claimed by this writer
	Used                 // id is claimed by a live entry
	Full                 // every slot holds another live entry, or shared data failed
)
