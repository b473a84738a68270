// SPDX-License-Identifier: Apache-2.0

package abi

import (
	"encoding/binary"
	"errors"
	"slices"
	"strings"
)

// encodePairs serializes pairs as the proxy-wasm spec and cpp-host
// exports::marshalPairs do: a uint32 count, then a (key size, value size)
// uint32 pair per entry, then each key and value followed by a NUL byte.
func encodePairs(pairs [][2]string) []byte { return appendPairs(nil, pairs) }

// appendPairs appends the encodePairs form of pairs to b.
func appendPairs(b []byte, pairs [][2]string) []byte {
	size := 4
	for _, p := range pairs {
		size += 8 + len(p[0]) + 1 + len(p[1]) + 1
	}
	b = slices.Grow(b, size)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(pairs)))
	for _, p := range pairs {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(p[0])))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(p[1])))
	}
	for _, p := range pairs {
		b = append(b, p[0]...)
		b = append(b, 0)
		b = append(b, p[1]...)
		b = append(b, 0)
	}
	return b
}

var errBadPairs = errors.New("malformed header pairs")

// decodePairs parses the encodePairs format (cpp-host PairsUtil::toPairs).
// An empty buffer is no pairs.
func decodePairs(b []byte) ([][2]string, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if len(b) < 4 {
		return nil, errBadPairs
	}
	n := binary.LittleEndian.Uint32(b)
	if uint64(n)*8+4 > uint64(len(b)) {
		return nil, errBadPairs
	}
	sizes := b[4 : 4+n*8]
	data := b[4+n*8:]
	pairs := make([][2]string, 0, n)
	for i := uint32(0); i < n; i++ {
		ks := binary.LittleEndian.Uint32(sizes[i*8:])
		vs := binary.LittleEndian.Uint32(sizes[i*8+4:])
		if uint64(ks)+uint64(vs)+2 > uint64(len(data)) {
			return nil, errBadPairs
		}
		k := string(data[:ks])
		v := string(data[ks+1 : ks+1+vs])
		data = data[ks+1+vs+1:]
		pairs = append(pairs, [2]string{k, v})
	}
	return pairs, nil
}

// headerMap is an ordered header map with Envoy's case-insensitive keys.
type headerMap struct {
	pairs [][2]string
}

func newHeaderMap(pairs [][2]string) *headerMap {
	m := &headerMap{pairs: make([][2]string, 0, len(pairs)+8)} // room for what a plugin adds
	for _, p := range pairs {
		m.add(p[0], p[1])
	}
	return m
}

func (m *headerMap) get(key string) (string, bool) {
	key = strings.ToLower(key)
	for _, p := range m.pairs {
		if p[0] == key {
			return p[1], true
		}
	}
	return "", false
}

func (m *headerMap) add(key, value string) {
	m.pairs = append(m.pairs, [2]string{strings.ToLower(key), value})
}

// replace sets the first entry of key and removes the others; an absent key
// is added (Envoy HeaderMap::setCopy).
func (m *headerMap) replace(key, value string) {
	key = strings.ToLower(key)
	out := m.pairs[:0]
	found := false
	for _, p := range m.pairs {
		if p[0] != key {
			out = append(out, p)
		} else if !found {
			out = append(out, [2]string{key, value})
			found = true
		}
	}
	m.pairs = out
	if !found {
		m.add(key, value)
	}
}

func (m *headerMap) remove(key string) {
	key = strings.ToLower(key)
	out := m.pairs[:0]
	for _, p := range m.pairs {
		if p[0] != key {
			out = append(out, p)
		}
	}
	m.pairs = out
}

// byteSize is Envoy's HeaderMap::byteSize: the sum of key and value lengths.
func (m *headerMap) byteSize() int {
	n := 0
	for _, p := range m.pairs {
		n += len(p[0]) + len(p[1])
	}
	return n
}

func (m *headerMap) clone() [][2]string {
	if m == nil {
		return nil
	}
	return append([][2]string(nil), m.pairs...)
}
