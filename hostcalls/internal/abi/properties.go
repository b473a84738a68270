// SPDX-License-Identifier: Apache-2.0

package abi

import (
	"context"
	"encoding/binary"
	"net"
	"strconv"
	"strings"
)

// filterStatePrefix is the prefix Envoy's Context::setProperty gives the
// filter state key of a property a plugin sets (CelStateKeyPrefix).
const filterStatePrefix = "wasm."

// envoyTopLevel are the first path segments Envoy resolves itself
// (StreamActivation and the Wasm context's own tokens); any other first
// segment names filter state the plugin set, under "wasm." + segment.
var envoyTopLevel = map[string]bool{
	"request": true, "response": true, "connection": true, "upstream": true, "source": true,
	"destination": true, "metadata": true, "filter_state": true, "xds": true, "node": true,
	"plugin_name": true, "plugin_root_id": true, "plugin_vm_id": true, "connection_id": true,
}

// propertyValue answers a property path (NUL-separated segments, as the
// SDKs send it), encoded as Envoy's Context::getProperty serializes values:
// strings as bytes, integers as 8-byte little-endian, maps as header pairs.
func (vm *VM) propertyValue(raw []byte) ([]byte, bool) {
	segs := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
	path := strings.Join(segs, ".")
	o := vm.host.opts
	switch path {
	case "plugin_name", "plugin_root_id", "plugin_vm_id":
		return []byte(o.PluginName), true
	case "node.id", "xds.node.id":
		return []byte("credgate-host"), true
	case "node.cluster", "xds.node.cluster":
		return []byte("credgate"), true
	}
	s := vm.streams[vm.contextID()]
	if s == nil {
		return nil, false
	}
	if !envoyTopLevel[segs[0]] {
		// Filter state set by the plugin: a bytes value, which has no
		// fields, so a longer path is NotFound.
		v, ok := s.filterState[filterStatePrefix+segs[0]]
		return v, ok && len(segs) == 1
	}
	if segs[0] == "filter_state" && len(segs) == 2 {
		v, ok := s.filterState[segs[1]]
		return v, ok
	}
	return streamProperty(s, path)
}

func streamProperty(s *stream, path string) ([]byte, bool) {
	h := func(name string) ([]byte, bool) {
		v, ok := s.reqHeaders.get(name)
		return []byte(v), ok
	}
	switch path {
	case "xds.route_name":
		// XDSWrapper: NotFound without a route, else the route's name
		// (empty for a route without one).
		if s.req.NoRoute {
			return nil, false
		}
		return []byte(s.req.RouteName), true
	case "request.path":
		return h(":path")
	case "request.url_path":
		p, _ := s.reqHeaders.get(":path")
		p, _, _ = strings.Cut(p, "?")
		return []byte(p), true
	case "request.method":
		return h(":method")
	case "request.host":
		return h(":authority")
	case "request.scheme":
		return h(":scheme")
	case "request.id":
		return h("x-request-id")
	case "request.protocol":
		return []byte("HTTP/1.1"), true
	case "request.headers":
		return encodePairs(s.reqHeaders.pairs), true
	case "source.address":
		return []byte(s.req.SourceAddress), true
	case "source.port":
		return port(s.req.SourceAddress)
	case "destination.address":
		return []byte("127.0.0.1:10000"), true
	case "destination.port":
		return port("127.0.0.1:10000")
	case "connection.mtls":
		return []byte{0}, true
	case "response.code":
		if s.respHeaders == nil {
			return nil, false
		}
		code, _ := s.respHeaders.get(":status")
		n, _ := strconv.ParseInt(code, 10, 64)
		return int64Bytes(n), true
	case "response.headers":
		if s.respHeaders == nil {
			return nil, false
		}
		return encodePairs(s.respHeaders.pairs), true
	}
	return nil, false
}

func port(addr string) ([]byte, bool) {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, false
	}
	n, err := strconv.ParseInt(p, 10, 64)
	if err != nil {
		return nil, false
	}
	return int64Bytes(n), true
}

func int64Bytes(n int64) []byte {
	return binary.LittleEndian.AppendUint64(nil, uint64(n))
}

// proxyGetProperty emulates cpp-host exports::get_property and Envoy
// Context::getProperty: an unknown path, or a stream property asked from
// the root context, is NotFound.
func proxyGetProperty(ctx context.Context, vm *VM, s []uint64) {
	b, err := vm.mem.Read(uint32(s[0]), uint32(s[1]))
	if err != nil {
		s[0] = InvalidMemoryAccess
		return
	}
	v, ok := vm.propertyValue(b)
	if !ok {
		s[0] = NotFound
		return
	}
	s[0] = vm.copyOut(ctx, v, uint32(s[2]), uint32(s[3]))
}

// proxySetProperty emulates cpp-host exports::set_property and Envoy
// Context::setProperty: the value goes into the stream's filter state under
// "wasm." followed by the path as the plugin sent it (NUL separators kept),
// where later filters, access logs and RBAC read it, and where later
// proxy_get_property calls of a one-segment path find it. The root context
// has no stream: NotFound.
// stateKey is the filter state key of a property path: Envoy's "wasm."
// prefix and the path, made once per path the VM sets (a plugin sets the
// same few) and reused; at most maxStateKeys are kept.
func (vm *VM) stateKey(path []byte) string {
	if k, ok := vm.stateKeys[string(path)]; ok {
		return k
	}
	k := filterStatePrefix + string(path)
	if vm.stateKeys == nil {
		vm.stateKeys = map[string]string{}
	}
	if len(vm.stateKeys) < maxStateKeys {
		vm.stateKeys[k[len(filterStatePrefix):]] = k
	}
	return k
}

const maxStateKeys = 256

func proxySetProperty(_ context.Context, vm *VM, s []uint64) {
	key, err1 := vm.mem.View(uint32(s[0]), uint32(s[1]))
	value, err2 := vm.mem.View(uint32(s[2]), uint32(s[3]))
	if err1 != nil || err2 != nil {
		s[0] = InvalidMemoryAccess
		return
	}
	st := vm.streams[vm.contextID()]
	if st == nil {
		s[0] = NotFound
		return
	}
	st.filterState[vm.stateKey(key)] = append([]byte(nil), value...)
	s[0] = OK
}
