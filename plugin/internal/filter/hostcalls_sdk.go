// SPDX-License-Identifier: Apache-2.0

//go:build !(wasip1 && credgate_sdk)

package filter

import (
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"

	"github.com/credgate/credgate/plugin/internal/scheme"
)

// Outside the module (the SDK's mock host), metrics go through the SDK; its
// methods do not depend on the metric's kind for these calls.

func defineMetric(kind uint32, name string) uint32 {
	switch kind {
	case metricCounter:
		return uint32(proxywasm.DefineCounterMetric(name))
	case metricGauge:
		return uint32(proxywasm.DefineGaugeMetric(name))
	}
	return uint32(proxywasm.DefineHistogramMetric(name))
}

func metricAdd(id uint32, d int64)     { proxywasm.MetricGauge(id).Add(d) }
func metricRecord(id uint32, v uint64) { proxywasm.MetricHistogram(id).Record(v) }

// setState sets one filter state property (a build without the standard-Go
// adapter, which never runs as a module; see hostcalls_stdgo.go).
func setState(key, value string) error { return proxywasm.SetProperty([]string{key}, []byte(value)) }

// requestHeaders reads the request's header pairs into dst[:0].
func requestHeaders(dst [][2]string, _ *[]byte) ([][2]string, error) {
	pairs, err := proxywasm.GetHttpRequestHeaders()
	return append(dst[:0], pairs...), err
}

// callStatus reads an http call's response status.
func callStatus(*[]byte) (string, error) {
	headers, err := proxywasm.GetHttpCallResponseHeaders()
	return scheme.CallStatus(headers), err
}

// callBodyText reads an http call's response body.
func callBodyText(_ *[]byte, size int) (string, error) {
	b, err := proxywasm.GetHttpCallResponseBody(0, size)
	return string(b), err
}

// dispatch is proxywasm.DispatchHttpCall without trailers.
func dispatch(cluster string, headers [][2]string, body []byte, timeoutMs uint32, cb func(int, int, int), _ *[]byte) error {
	_, err := proxywasm.DispatchHttpCall(cluster, headers, body, nil, timeoutMs, cb)
	return err
}
