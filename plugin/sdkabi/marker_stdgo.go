// SPDX-License-Identifier: Apache-2.0

//go:build wasip1 && credgate_sdk

// This file is copied into the SDK's proxywasm package. The plugin refers to
// StdGoABI in its wasip1 build, so a build that forgot the adapter files fails
// to compile instead of silently linking the SDK's mock hostcalls. It also
// holds the plugin's allocation-free variants of SDK calls it makes on every
// request.

package proxywasm

import (
	"encoding/binary"
	"errors"
	"unsafe"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/internal"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"
)

// StdGoABI is true when the standard-Go proxy-wasm adapter is compiled in.
const StdGoABI = true

// StdGoSetProperty is SetProperty for a path of one segment (whose
// serialized form is the segment itself), handing key and value to the host
// without copying either: the filter sets a few properties on every
// request.
func StdGoSetProperty(key, value string) error {
	if key == "" || value == "" {
		return errors.New("key and value must not be empty")
	}
	return internal.StatusToError(internal.ProxySetProperty(
		internal.StringBytePtr(key), len(key), internal.StringBytePtr(value), len(value)))
}

// StdGoHttpRequestHeaders is GetHttpRequestHeaders appending the pairs to
// dst[:0], with the host writing the encoded map into *buf (grown when too
// small): a stream context that keeps both reads the headers with no
// allocation. The strings point into *buf, as the SDK's point into its
// buffer: they are valid until *buf is used again, so the caller reuses it
// only for a later stream, once nothing refers to this one's. A map the
// host encoded inconsistently is an error, not a panic.
func StdGoHttpRequestHeaders(dst [][2]string, buf *[]byte) ([][2]string, error) {
	var size int
	var raw *byte
	internal.StdGoAllocInto(buf)
	st := internal.ProxyGetHeaderMapPairs(internal.MapTypeHttpRequestHeaders, &raw, &size)
	internal.StdGoAllocInto(nil)
	if st != internal.StatusOK {
		return dst[:0], internal.StatusToError(st)
	} else if raw == nil {
		return dst[:0], types.ErrorStatusNotFound
	}
	return appendPairs(dst[:0], internal.RawBytePtrToByteSlice(raw, size))
}

var errBadMap = errors.New("the host's header map is malformed")

// appendPairs decodes the proxy-wasm header map encoding: a count, then each
// name's and value's size (u32 little endian), then the bytes of each, each
// followed by a NUL.
func appendPairs(dst [][2]string, bs []byte) ([][2]string, error) {
	u32 := func(off int) int {
		return int(uint32(bs[off]) | uint32(bs[off+1])<<8 | uint32(bs[off+2])<<16 | uint32(bs[off+3])<<24)
	}
	if len(bs) < 4 {
		return dst, errBadMap
	}
	n := u32(0)
	if n > (len(bs)-4)/8 {
		return dst, errBadMap
	}
	sizes, data := 4, 4+8*n
	if cap(dst)-len(dst) < n { // one allocation for a new stream's pairs, none for a kept one
		dst = append(make([][2]string, 0, len(dst)+n), dst...)
	}
	for i := 0; i < n; i++ {
		ks, vs := u32(sizes), u32(sizes+4)
		sizes += 8
		if ks > len(bs)-data-1 || bs[data+ks] != 0 {
			return dst, errBadMap
		}
		k := bs[data : data+ks]
		data += ks + 1
		if vs > len(bs)-data-1 || bs[data+vs] != 0 {
			return dst, errBadMap
		}
		v := bs[data : data+vs]
		data += vs + 1
		// The strings point into the host's buffer (the SDK's own decoding
		// does the same; the module's language version is the SDK's, 1.19).
		dst = append(dst, [2]string{*(*string)(unsafe.Pointer(&k)), *(*string)(unsafe.Pointer(&v))})
	}
	return dst, nil
}

// StdGoHttpCallStatus is the :status of an http call's response (the
// first, as Envoy's get_header_map_value answers), with the host writing it
// into *buf (grown when too small) instead of a new allocation. The string
// points into *buf: it is valid until *buf is used again.
func StdGoHttpCallStatus(buf *[]byte) (string, error) {
	const key = ":status"
	var size int
	var raw *byte
	internal.StdGoAllocInto(buf)
	st := internal.ProxyGetHeaderMapValue(internal.MapTypeHttpCallResponseHeaders, internal.StringBytePtr(key), len(key), &raw, &size)
	internal.StdGoAllocInto(nil)
	if st != internal.StatusOK {
		return "", internal.StatusToError(st)
	}
	return internal.RawBytePtrToString(raw, size), nil
}

// StdGoHttpCallBody is GetHttpCallResponseBody with the host writing the
// bytes into *buf (grown when too small) instead of a new allocation, as a
// string: it points into *buf and is valid until *buf is used again.
func StdGoHttpCallBody(buf *[]byte, start, maxSize int) (string, error) {
	var size int
	var raw *byte
	internal.StdGoAllocInto(buf)
	st := internal.ProxyGetBufferBytes(internal.BufferTypeHttpCallResponseBody, start, maxSize, &raw, &size)
	internal.StdGoAllocInto(nil)
	switch {
	case st != internal.StatusOK:
		return "", internal.StatusToError(st)
	case raw == nil:
		return "", types.ErrorStatusNotFound
	}
	return internal.RawBytePtrToString(raw, size), nil
}

// noTrailers is the encoded empty map: a call's trailers.
var noTrailers = [4]byte{}

// StdGoDispatchHttpCall is DispatchHttpCall without trailers, encoding the
// headers into *buf (grown when too small) instead of a new buffer. The
// host copies headers and body before the call returns, so the caller may
// reuse *buf and body at once.
func StdGoDispatchHttpCall(cluster string, headers [][2]string, body []byte, timeoutMillisecond uint32,
	callBack func(numHeaders, bodySize, numTrailers int), buf *[]byte) (uint32, error) {
	*buf = appendMap((*buf)[:0], headers)
	var bodyPtr *byte
	if len(body) > 0 {
		bodyPtr = &body[0]
	}
	var calloutID uint32
	switch st := internal.ProxyHttpCall(internal.StringBytePtr(cluster), len(cluster), &(*buf)[0], len(*buf),
		bodyPtr, len(body), &noTrailers[0], len(noTrailers), timeoutMillisecond, &calloutID); st {
	case internal.StatusOK:
		internal.StdGoRegisterHttpCallout(calloutID, callBack) // in a reused record
		return calloutID, nil
	default:
		return 0, internal.StatusToError(st)
	}
}

// appendMap appends the proxy-wasm encoding of pairs (appendPairs' input,
// internal.SerializeMap's output, which always allocates) to dst.
func appendMap(dst []byte, pairs [][2]string) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(pairs)))
	for _, kv := range pairs {
		dst = binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(dst, uint32(len(kv[0]))), uint32(len(kv[1])))
	}
	for _, kv := range pairs {
		dst = append(append(dst, kv[0]...), 0)
		dst = append(append(dst, kv[1]...), 0)
	}
	return dst
}
