// SPDX-License-Identifier: Apache-2.0

package abi

import "context"

// Buffer types (proxy-wasm spec).
const (
	bufRequestBody      = 0
	bufResponseBody     = 1
	bufHTTPCallResponse = 4
	bufVMConfiguration  = 6
	bufPluginConfig     = 7
	bufMax              = 8
)

// bufferFor returns the buffer of type t for the current context: a
// pointer, so that proxy_set_buffer_bytes can change a body, or nil when the
// context has no such buffer now (NotFound, as Envoy Context::getBuffer).
// The plugin configuration exists only during proxy_on_vm_start and
// proxy_on_configure, as cpp-host keeps temp_plugin_ only then.
func (vm *VM) bufferFor(t uint32) *[]byte {
	switch t {
	case bufRequestBody, bufResponseBody:
		s := vm.streams[vm.contextID()]
		if s == nil {
			return nil
		}
		if t == bufRequestBody && s.reqBodySeen {
			return &s.reqBody
		}
		if t == bufResponseBody && s.respBodySeen {
			return &s.respBody
		}
	case bufHTTPCallResponse:
		if vm.callResp != nil {
			return &vm.callResp.body
		}
	case bufVMConfiguration:
		b := vm.host.opts.VMConfig
		return &b
	case bufPluginConfig:
		if vm.configuring {
			b := vm.host.opts.PluginConfig
			return &b
		}
	}
	return nil
}

// lookupBuffer returns the buffer of type t, or nil with the status cpp-host
// answers: BadArgument for an unknown type, NotFound for one that does not
// exist in the current context.
func (vm *VM) lookupBuffer(t uint32) (*[]byte, uint64) {
	if t > bufMax {
		return nil, BadArgument
	}
	if b := vm.bufferFor(t); b != nil {
		return b, OK
	}
	return nil, NotFound
}

// proxyGetBufferStatus emulates cpp-host exports::get_buffer_status: the
// length, and flags 0.
func proxyGetBufferStatus(_ context.Context, vm *VM, s []uint64) {
	t := uint32(s[0])
	b, st := vm.lookupBuffer(t)
	if b == nil {
		s[0] = st
		return
	}
	if vm.mem.WriteUint32(uint32(s[1]), uint32(len(*b))) != nil || vm.mem.WriteUint32(uint32(s[2]), 0) != nil {
		s[0] = InvalidMemoryAccess
		return
	}
	s[0] = OK
}

// proxyGetBufferBytes emulates cpp-host exports::get_buffer_bytes: the range
// is clipped to the buffer; an empty range is OK and writes nothing.
func proxyGetBufferBytes(ctx context.Context, vm *VM, s []uint64) {
	t, start, length := uint32(s[0]), uint32(s[1]), uint32(s[2])
	b, st := vm.lookupBuffer(t)
	if b == nil {
		s[0] = st
		return
	}
	if uint64(start)+uint64(length) > 1<<32-1 {
		s[0] = BadArgument
		return
	}
	size := uint32(len(*b))
	if start > size {
		start = size
	}
	if start+length > size {
		length = size - start
	}
	if length == 0 {
		s[0] = OK
		return
	}
	s[0] = vm.copyOut(ctx, (*b)[start:start+length], uint32(s[3]), uint32(s[4]))
}

// proxySetBufferBytes emulates cpp-host exports::set_buffer_bytes with
// Envoy's Buffer::copyFrom: start 0 replaces the first length bytes (length
// 0 prepends), start at or past the end appends, anything else is
// BadArgument. Only the bodies can be changed.
func proxySetBufferBytes(_ context.Context, vm *VM, s []uint64) {
	t, start, length := uint32(s[0]), uint32(s[1]), uint32(s[2])
	b, st := vm.lookupBuffer(t)
	if b == nil {
		s[0] = st
		return
	}
	data, err := vm.mem.Read(uint32(s[3]), uint32(s[4]))
	if err != nil {
		s[0] = InvalidMemoryAccess
		return
	}
	if t != bufRequestBody && t != bufResponseBody {
		s[0] = BadArgument
		return
	}
	size := uint32(len(*b))
	switch {
	case start == 0:
		rest := (*b)[min(length, size):]
		*b = append(data, rest...)
	case start >= size:
		*b = append(*b, data...)
	default:
		s[0] = BadArgument
		return
	}
	s[0] = OK
}
