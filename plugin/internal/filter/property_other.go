// SPDX-License-Identifier: Apache-2.0

//go:build !(wasip1 && credgate_sdk)

package filter

import "github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"

// setState sets one filter state property (a build without the standard-Go
// adapter, which never runs as a module; see property_sdk.go).
func setState(key, value string) error { return proxywasm.SetProperty([]string{key}, []byte(value)) }
