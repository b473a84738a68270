// SPDX-License-Identifier: Apache-2.0

//go:build wasip1 && credgate_sdk

// The second half of the standard-Go hostcall adapter: streams, dispatch,
// timers, metrics and properties. See hostcalls_stdgo.go.

package internal

import "unsafe"

//go:wasmimport env proxy_continue_stream
func hostContinueStream(streamType uint32) uint32

func ProxyContinueStream(streamType StreamType) Status {
	return Status(hostContinueStream(uint32(streamType)))
}

//go:wasmimport env proxy_close_stream
func hostCloseStream(streamType uint32) uint32

func ProxyCloseStream(streamType StreamType) Status {
	return Status(hostCloseStream(uint32(streamType)))
}

//go:wasmimport env proxy_http_call
func hostHTTPCall(upstream unsafe.Pointer, upstreamSize uint32, headers unsafe.Pointer, headersSize uint32,
	body unsafe.Pointer, bodySize uint32, trailers unsafe.Pointer, trailersSize uint32, timeout uint32, retID unsafe.Pointer) uint32

func ProxyHttpCall(upstreamData *byte, upstreamSize int, headerData *byte, headerSize int,
	bodyData *byte, bodySize int, trailersData *byte, trailersSize int, timeout uint32, calloutIDPtr *uint32,
) Status {
	st := hostHTTPCall(ptr(upstreamData), uint32(upstreamSize), ptr(headerData), uint32(headerSize),
		ptr(bodyData), uint32(bodySize), ptr(trailersData), uint32(trailersSize), timeout, unsafe.Pointer(&outU32))
	*calloutIDPtr = outU32
	return Status(st)
}

//go:wasmimport env proxy_call_foreign_function
func hostCallForeignFunction(name unsafe.Pointer, nameSize uint32, param unsafe.Pointer, paramSize uint32, retData, retSize unsafe.Pointer) uint32

func ProxyCallForeignFunction(funcNamePtr *byte, funcNameSize int, paramPtr *byte, paramSize int, returnData **byte, returnSize *int) Status {
	st := hostCallForeignFunction(ptr(funcNamePtr), uint32(funcNameSize), ptr(paramPtr), uint32(paramSize),
		unsafe.Pointer(&outPtr), unsafe.Pointer(&outSize))
	takeBuffer(returnData, returnSize)
	return Status(st)
}

//go:wasmimport env proxy_set_tick_period_milliseconds
func hostSetTickPeriodMilliseconds(period uint32) uint32

func ProxySetTickPeriodMilliseconds(period uint32) Status {
	return Status(hostSetTickPeriodMilliseconds(period))
}

//go:wasmimport env proxy_set_effective_context
func hostSetEffectiveContext(contextID uint32) uint32

func ProxySetEffectiveContext(contextID uint32) Status {
	return Status(hostSetEffectiveContext(contextID))
}

//go:wasmimport env proxy_done
func hostDone() uint32

func ProxyDone() Status { return Status(hostDone()) }

//go:wasmimport env proxy_define_metric
func hostDefineMetric(metricType uint32, name unsafe.Pointer, nameSize uint32, retID unsafe.Pointer) uint32

func ProxyDefineMetric(metricType MetricType, metricNameData *byte, metricNameSize int, returnMetricIDPtr *uint32) Status {
	st := hostDefineMetric(uint32(metricType), ptr(metricNameData), uint32(metricNameSize), unsafe.Pointer(&outU32))
	*returnMetricIDPtr = outU32
	return Status(st)
}

//go:wasmimport env proxy_increment_metric
func hostIncrementMetric(metricID uint32, offset int64) uint32

func ProxyIncrementMetric(metricID uint32, offset int64) Status {
	return Status(hostIncrementMetric(metricID, offset))
}

//go:wasmimport env proxy_record_metric
func hostRecordMetric(metricID uint32, value uint64) uint32

func ProxyRecordMetric(metricID uint32, value uint64) Status {
	return Status(hostRecordMetric(metricID, value))
}

//go:wasmimport env proxy_get_metric
func hostGetMetric(metricID uint32, retValue unsafe.Pointer) uint32

func ProxyGetMetric(metricID uint32, returnMetricValue *uint64) Status {
	st := hostGetMetric(metricID, unsafe.Pointer(&outU64))
	*returnMetricValue = outU64
	return Status(st)
}

//go:wasmimport env proxy_get_property
func hostGetProperty(path unsafe.Pointer, pathSize uint32, retData, retSize unsafe.Pointer) uint32

func ProxyGetProperty(pathData *byte, pathSize int, returnValueData **byte, returnValueSize *int) Status {
	st := hostGetProperty(ptr(pathData), uint32(pathSize), unsafe.Pointer(&outPtr), unsafe.Pointer(&outSize))
	takeBuffer(returnValueData, returnValueSize)
	return Status(st)
}

//go:wasmimport env proxy_set_property
func hostSetProperty(path unsafe.Pointer, pathSize uint32, value unsafe.Pointer, valueSize uint32) uint32

func ProxySetProperty(pathData *byte, pathSize int, valueData *byte, valueSize int) Status {
	return Status(hostSetProperty(ptr(pathData), uint32(pathSize), ptr(valueData), uint32(valueSize)))
}
