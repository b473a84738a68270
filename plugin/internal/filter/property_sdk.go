// SPDX-License-Identifier: Apache-2.0

//go:build wasip1 && credgate_sdk

package filter

import "github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"

// setState sets one filter state property without copying key or value.
func setState(key, value string) error { return proxywasm.StdGoSetProperty(key, value) }
