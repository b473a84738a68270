// SPDX-License-Identifier: Apache-2.0

//go:build wasip1 && credgate_sdk

// This file is copied into the SDK's proxywasm package. The plugin refers to
// StdGoABI in its wasip1 build, so a build that forgot the adapter files fails
// to compile instead of silently linking the SDK's mock hostcalls. It also
// holds the plugin's allocation-free variants of SDK calls it makes on every
// request.

package proxywasm

import (
	"errors"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/internal"
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
