// SPDX-License-Identifier: Apache-2.0

package abi

import "context"

// Header map types (proxy-wasm spec).
const (
	mapRequestHeaders           = 0
	mapRequestTrailers          = 1
	mapResponseHeaders          = 2
	mapResponseTrailers         = 3
	mapHTTPCallResponseHeaders  = 6
	mapHTTPCallResponseTrailers = 7
	mapMax                      = 7
)

// headerMapFor returns the map of type t for the current context, or a
// status: BadArgument for an unknown type or a map the context does not have
// now (Envoy Context::getMap returns nullptr and the call is BadArgument).
func (vm *VM) headerMapFor(t uint32) (*headerMap, uint64) {
	if t > mapMax {
		return nil, BadArgument
	}
	var m *headerMap
	switch t {
	case mapHTTPCallResponseHeaders, mapHTTPCallResponseTrailers:
		if vm.callResp != nil {
			m = vm.callResp.headers
			if t == mapHTTPCallResponseTrailers {
				m = vm.callResp.trailers
			}
		}
	default:
		if s := vm.streams[vm.contextID()]; s != nil {
			m = [...]*headerMap{s.reqHeaders, s.reqTrailers, s.respHeaders, s.respTrailers}[t%4]
			if t > mapResponseTrailers {
				m = nil // gRPC metadata: no gRPC calls
			}
		}
	}
	if m == nil {
		return nil, BadArgument
	}
	return m, OK
}

func (vm *VM) headerKey(t, ptr, size uint32) (*headerMap, string, uint64) {
	m, st := vm.headerMapFor(t)
	if st != OK {
		return nil, "", st
	}
	key, err := vm.mem.String(ptr, size)
	if err != nil {
		return nil, "", InvalidMemoryAccess
	}
	return m, key, OK
}

// proxyGetHeaderMapValue emulates cpp-host exports::get_header_map_value and
// Envoy Context::getHeaderMapValue: the first value of the key; a missing key
// is NotFound (ABI 0.1.0: an empty value).
func proxyGetHeaderMapValue(ctx context.Context, vm *VM, s []uint64) {
	m, key, st := vm.headerKey(uint32(s[0]), uint32(s[1]), uint32(s[2]))
	if st != OK {
		s[0] = st
		return
	}
	v, ok := m.get(key)
	if !ok && vm.host.rt.ABI != ABI010 {
		s[0] = NotFound
		return
	}
	vm.scratch = append(vm.scratch[:0], v...)
	s[0] = vm.copyOut(ctx, vm.scratch, uint32(s[3]), uint32(s[4]))
}

// proxyAddHeaderMapValue emulates cpp-host exports::add_header_map_value
// (Envoy HeaderMap::addCopy, key lowercased).
func proxyAddHeaderMapValue(_ context.Context, vm *VM, s []uint64) {
	vm.setHeader(s, (*headerMap).add)
}

// proxyReplaceHeaderMapValue emulates cpp-host
// exports::replace_header_map_value (Envoy HeaderMap::setCopy).
func proxyReplaceHeaderMapValue(_ context.Context, vm *VM, s []uint64) {
	vm.setHeader(s, (*headerMap).replace)
}

func (vm *VM) setHeader(s []uint64, op func(*headerMap, string, string)) {
	m, key, st := vm.headerKey(uint32(s[0]), uint32(s[1]), uint32(s[2]))
	if st != OK {
		s[0] = st
		return
	}
	v, err := vm.mem.String(uint32(s[3]), uint32(s[4]))
	if err != nil {
		s[0] = InvalidMemoryAccess
		return
	}
	op(m, key, v)
	s[0] = OK
}

// proxyRemoveHeaderMapValue emulates cpp-host exports::remove_header_map_value;
// removing an absent key is OK.
func proxyRemoveHeaderMapValue(_ context.Context, vm *VM, s []uint64) {
	m, key, st := vm.headerKey(uint32(s[0]), uint32(s[1]), uint32(s[2]))
	if st != OK {
		s[0] = st
		return
	}
	m.remove(key)
	s[0] = OK
}

// proxyGetHeaderMapPairs emulates cpp-host exports::get_header_map_pairs:
// every entry, pseudo headers included, serialized as pairs.
func proxyGetHeaderMapPairs(ctx context.Context, vm *VM, s []uint64) {
	m, st := vm.headerMapFor(uint32(s[0]))
	if st != OK {
		s[0] = st
		return
	}
	vm.scratch = appendPairs(vm.scratch[:0], m.pairs)
	s[0] = vm.copyOut(ctx, vm.scratch, uint32(s[1]), uint32(s[2]))
}

// proxySetHeaderMapPairs emulates cpp-host exports::set_header_map_pairs:
// the map's entries are replaced by the given pairs.
func proxySetHeaderMapPairs(_ context.Context, vm *VM, s []uint64) {
	m, st := vm.headerMapFor(uint32(s[0]))
	if st != OK {
		s[0] = st
		return
	}
	b, err := vm.mem.Read(uint32(s[1]), uint32(s[2]))
	if err != nil {
		s[0] = InvalidMemoryAccess
		return
	}
	pairs, err := decodePairs(b)
	if err != nil {
		s[0] = BadArgument
		return
	}
	*m = *newHeaderMap(pairs)
	s[0] = OK
}

// proxyGetHeaderMapSize emulates cpp-host exports::get_header_map_size
// (Envoy HeaderMap::byteSize).
func proxyGetHeaderMapSize(_ context.Context, vm *VM, s []uint64) {
	m, st := vm.headerMapFor(uint32(s[0]))
	if st != OK {
		s[0] = st
		return
	}
	s[0] = memStatus(vm.mem.WriteUint32(uint32(s[1]), uint32(m.byteSize())))
}
