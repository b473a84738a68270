// SPDX-License-Identifier: Apache-2.0

//go:build wasip1 && credgate_sdk

package filter

import "github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"

// In the module, metrics go through the adapter's fmt-free calls
// (plugin/sdkabi/metrics_stdgo.go): the SDK's own metric functions panic with
// fmt.Sprintf, and that alone links fmt and reflect (about 0.3 MB). A call the
// host refuses panics, as in the SDK.

func defineMetric(kind uint32, name string) uint32 {
	id, err := proxywasm.StdGoDefineMetric(kind, name)
	if err != nil {
		metricRefused("define metric "+name, err)
	}
	return id
}

func metricAdd(id uint32, d int64) {
	if err := proxywasm.StdGoIncrementMetric(id, d); err != nil {
		metricRefused("update a metric", err)
	}
}

func metricRecord(id uint32, v uint64) {
	if err := proxywasm.StdGoRecordMetric(id, v); err != nil {
		metricRefused("record a metric", err)
	}
}

func metricRefused(what string, err error) {
	panic("credgate: the host refused to " + what + ": " + err.Error())
}

// setState sets one filter state property without copying key or value.
func setState(key, value string) error { return proxywasm.StdGoSetProperty(key, value) }

// requestHeaders reads the request's header pairs into dst[:0], the host
// writing them into *buf, which the strings point into.
func requestHeaders(dst [][2]string, buf *[]byte) ([][2]string, error) {
	return proxywasm.StdGoHttpRequestHeaders(dst, buf)
}

// callStatus and callBodyText read an http call's response status and
// body, the host writing them into *buf, which the result points into.
func callStatus(buf *[]byte) (string, error) { return proxywasm.StdGoHttpCallStatus(buf) }

func callBodyText(buf *[]byte, size int) (string, error) {
	return proxywasm.StdGoHttpCallBody(buf, 0, size)
}

// dispatch is proxywasm.DispatchHttpCall without trailers, the headers
// encoded into *buf, which the host copies.
func dispatch(cluster string, headers [][2]string, body []byte, timeoutMs uint32, cb func(int, int, int), buf *[]byte) error {
	_, err := proxywasm.StdGoDispatchHttpCall(cluster, headers, body, timeoutMs, cb, buf)
	return err
}
