// SPDX-License-Identifier: Apache-2.0

// Package state holds what one host shares between its VMs: shared data,
// shared queues and metrics. Nothing here is global, so several hosts can run
// side by side (and tests can use t.Parallel).
package state

import "sync"

// Status mirrors the proxy-wasm WasmResult values used by this package.
type Status uint32

// The proxy-wasm WasmResult values.
const (
	OK                   Status = 0
	NotFound             Status = 1
	BadArgument          Status = 2
	SerializationFailure Status = 3
	ParseFailure         Status = 4
	BadExpression        Status = 5
	InvalidMemoryAccess  Status = 6
	Empty                Status = 7
	CasMismatch          Status = 8
	ResultMismatch       Status = 9
	InternalFailure      Status = 10
	BrokenConnection     Status = 11
	Unimplemented        Status = 12
)

type sharedValue struct {
	value []byte
	cas   uint32
}

// SharedData is the key/value store of proxy_get_shared_data and
// proxy_set_shared_data, shared by every VM of a host, with compare-and-swap
// as proxy-wasm-cpp-host src/shared_data.cc implements it.
type SharedData struct {
	mu      sync.Mutex
	nextCas uint32
	data    map[string]sharedValue
}

// NewSharedData returns an empty store.
func NewSharedData() *SharedData {
	return &SharedData{nextCas: 1, data: map[string]sharedValue{}}
}

func (s *SharedData) casLocked() uint32 {
	c := s.nextCas
	s.nextCas++
	if s.nextCas == 0 { // a cas of 0 means "no check": never hand it out
		s.nextCas = 1
	}
	return c
}

// Get returns a copy of the value and its cas, or NotFound.
func (s *SharedData) Get(key string) ([]byte, uint32, Status) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.data[key]
	if !ok {
		return nil, 0, NotFound
	}
	return append([]byte(nil), v.value...), v.cas, OK
}

// Set stores value under key. A non-zero cas must equal the current cas of an
// existing key, or CasMismatch is returned and nothing changes.
func (s *SharedData) Set(key string, value []byte, cas uint32) Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.data[key]
	if ok && cas != 0 && cas != v.cas {
		return CasMismatch
	}
	s.data[key] = sharedValue{value: append([]byte(nil), value...), cas: s.casLocked()}
	return OK
}

// Stats returns the number of keys and the bytes of keys and values held.
func (s *SharedData) Stats() (keys, bytes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.data {
		bytes += len(k) + len(v.value)
	}
	return len(s.data), bytes
}
