// SPDX-License-Identifier: Apache-2.0

package abi

import "context"

// proxySendLocalResponse emulates cpp-host exports::send_local_response and
// Envoy Context::sendLocalResponse: the reply is sent once the callback
// returns (an after-VM-call action), so the callback's own result no longer
// matters. Only an HTTP context can answer; a second reply is ignored.
func proxySendLocalResponse(_ context.Context, vm *VM, s []uint64) {
	st := vm.streams[vm.contextID()]
	if st == nil {
		s[0] = BadArgument
		return
	}
	details, err1 := vm.mem.String(uint32(s[1]), uint32(s[2]))
	body, err2 := vm.mem.Read(uint32(s[3]), uint32(s[4]))
	hb, err3 := vm.mem.Read(uint32(s[5]), uint32(s[6]))
	if err1 != nil || err2 != nil || err3 != nil {
		s[0] = InvalidMemoryAccess
		return
	}
	headers, err := decodePairs(hb)
	if err != nil {
		s[0] = BadArgument
		return
	}
	if st.local == nil {
		st.local = &LocalResponse{Status: int(uint32(s[0])), Headers: headers, Body: body,
			Details: details, GRPCStatus: int32(uint32(s[7]))}
		st.signal()
	}
	s[0] = OK
}

// proxyContinueStream emulates cpp-host exports::continue_stream (ABI 0.2.x):
// Request (0) and Response (1) resume a paused HTTP stream; the network
// stream types are BadArgument here.
func proxyContinueStream(_ context.Context, vm *VM, s []uint64) {
	s[0] = vm.continueStream(uint32(s[0]))
}

func (vm *VM) continueStream(streamType uint32) uint64 {
	st := vm.streams[vm.contextID()]
	if st == nil || streamType > 1 {
		return BadArgument
	}
	st.continued = true
	st.signal()
	return OK
}

// proxyCloseStream emulates cpp-host exports::close_stream: Envoy resets the
// HTTP stream; the client receives no response.
func proxyCloseStream(_ context.Context, vm *VM, s []uint64) {
	st := vm.streams[vm.contextID()]
	if st == nil || uint32(s[0]) > 1 {
		s[0] = BadArgument
		return
	}
	st.reset = true
	st.signal()
	s[0] = OK
}
