// SPDX-License-Identifier: Apache-2.0

//go:build wasip1 && credgate_sdk

// This file is copied into the SDK's proxywasm package. The SDK's metric
// functions panic with fmt.Sprintf when the host refuses a call, and that
// alone links fmt and reflect into the module (about 0.3 MB); these return
// the host's status instead, and the plugin (plugin/internal/hostmetric)
// decides what a refusal means.

package proxywasm

import "github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/internal"

// StdGoDefineMetric defines a metric of kind 0 (counter), 1 (gauge) or 2
// (histogram) and returns its id.
func StdGoDefineMetric(kind uint32, name string) (uint32, error) {
	var id uint32
	st := internal.ProxyDefineMetric(internal.MetricType(kind), internal.StringBytePtr(name), len(name), &id)
	return id, internal.StatusToError(st)
}

// StdGoGetMetric returns a metric's value.
func StdGoGetMetric(id uint32) (uint64, error) {
	var v uint64
	return v, internal.StatusToError(internal.ProxyGetMetric(id, &v))
}

// StdGoIncrementMetric adds offset to a counter or gauge.
func StdGoIncrementMetric(id uint32, offset int64) error {
	return internal.StatusToError(internal.ProxyIncrementMetric(id, offset))
}

// StdGoRecordMetric records a value in a histogram.
func StdGoRecordMetric(id uint32, value uint64) error {
	return internal.StatusToError(internal.ProxyRecordMetric(id, value))
}
