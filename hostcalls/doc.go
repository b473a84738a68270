// SPDX-License-Identifier: Apache-2.0

// Package hostcalls runs a Proxy-Wasm module the way Envoy does, on wazero,
// so that tests and an embedded gateway can prove that a module "loads and
// passes in Envoy" on a machine without Envoy.
//
// # What it emulates
//
// Envoy's Proxy-Wasm host is proxy-wasm-cpp-host (include/proxy-wasm/exports.h,
// src/exports.cc, src/wasm.cc) plus Envoy's source/extensions/common/wasm/context.cc.
// This package reproduces, from reading them:
//
//   - the imports: the "env" module exports exactly Envoy's proxy_* functions
//     (the common ones plus those of the module's ABI version 0.1.0, 0.2.0 or
//     0.2.1; dispatch is proxy_http_call), pthread_equal and
//     emscripten_notify_memory_growth, and the WASI functions Envoy provides,
//     under both "wasi_snapshot_preview1" and "wasi_unstable";
//   - the start-up: _initialize (or _start) runs with only proxy_log and a few
//     WASI functions allowed, then the root context is created and
//     proxy_on_vm_start and proxy_on_configure run; proxy_on_memory_allocate
//     runs with only proxy_log, fd_write and clock_time_get allowed;
//   - HTTP streams: request and response headers, bodies and trailers, local
//     responses, pausing and proxy_continue_stream, proxy_close_stream; a
//     paused header callback holds the body back (Envoy's
//     StopAllIterationAndWatermark), and once the headers continue they are
//     forwarded before the body callbacks run (UpstreamRequest.Aborted);
//   - proxy_http_call to named clusters over real TCP, delivered to the root
//     context with Envoy's async-client semantics: a timeout before the
//     response is complete is the router's 504 "upstream request timeout"; a
//     refused connection, or one closed before the response headers, is the
//     router's 503 "upstream connect error or disconnect/reset before
//     headers. ..."; only a failure after the headers is Envoy's onFailure,
//     delivered as 0 headers, 0 body, 0 trailers with proxy_get_status
//     answering BrokenConnection and "reset" (Envoy Context::httpCall,
//     onHttpCallSuccess, onHttpCallFailure; AsyncStreamImpl::sendLocalReply);
//   - ticks, shared data with compare-and-swap (a cas of 0 writes
//     unconditionally, as in cpp-host, so create a key before writers race on
//     it), shared queues, metrics, log levels, proxy_get_status, foreign
//     functions;
//   - properties as Envoy's Context::getProperty serializes them, including
//     xds.route_name from Request.RouteName (NotFound with Request.NoRoute);
//     proxy_set_property stores filter state under "wasm." + the path, as
//     Envoy's Context::setProperty does, readable again by the stream and
//     returned in Result.FilterState for the stages after the plugin;
//   - one VM per worker: Config.WithVMs runs several instances sharing
//     shared data, queues and metrics, each serialized by its own lock, which
//     is released while a stream waits for a callout;
//   - the failure policy FAIL_CLOSED: a VM that traps fails, and every stream
//     on it is answered 503 (Host.Traps records why).
//
// # What it refuses
//
// A module is refused at Compile, with Envoy's wording, when it imports a
// function Envoy lacks ("Failed to load Wasm module due to a missing import:
// env.proxy_x"), imports one with another signature, imports memory, declares
// no ABI version ("Missing or unknown Proxy-Wasm ABI version") or exports no
// allocator ("Wasm module is missing malloc function."). A module that calls a
// restricted function during start-up or allocation traps with
// "restricted_callback", and NewHost fails.
//
// # Profiles
//
// Envoy's WASI surface changed for modules built by the standard Go toolchain
// (GOOS=wasip1), which import fd_fdstat_set_flags, poll_oneoff and
// sched_yield. The profiles follow the proxy-wasm-cpp-host commits Envoy
// links (src/exports.cc, src/wasm.cc):
//
//	profile      cpp-host          Envoy          fd_fdstat_set_flags  poll_oneoff                   sched_yield
//	envoy-1.32   before PR #427    up to 1.32     missing import       missing import                missing import
//	envoy-1.33   c4d7bb0 (#427)    1.33 - 1.37    ENOSYS (52)          ENOSYS (52)                   success (0)
//	envoy-1.39   f2db56a (#533)    newest         ENOSYS (52)          nevents = 0, success, at once success (0)
//
// envoy-1.32 only exists to show the refusal: the host names the module's
// first missing import, which for a standard-Go module is
// "wasi_snapshot_preview1.sched_yield" (Profiles lists the supported two).
// Under envoy-1.33 a Go runtime that polls fails: its scheduler turns the
// failed poll_oneoff into a fatal error, and a Go panic loses its message
// because the runtime polls while it freezes the world (the module prints
// "fatal error: wasi_snapshot_preview1.poll_oneoff" instead). Neither profile
// ever sleeps in poll_oneoff: a host must not block its worker thread.
// PR #427 also lets fd_fdstat_get and fd_fdstat_set_flags run during
// _initialize (the Go runtime sets stdio non-blocking there); the newest host
// also allows poll_oneoff there, and still not sched_yield.
//
// # Environment and clocks
//
// Config.WithEnv sets the VM environment (Envoy vm_config
// environment_variables), which the module reads through environ_get: the Go
// runtime takes GOGC and GODEBUG from it. Config.WithGuestTimeClock makes the
// monotonic clock count only the guest's own running time.
//
// # Differences from Envoy
//
//   - Header values, bodies and trailers are delivered in one piece each.
//   - Local replies do pass through the plugin's response callbacks, as in
//     Envoy, but Envoy's access-log and router extras (x-envoy-* headers,
//     server, date) are not added; only x-forwarded-proto and x-request-id
//     are, as Envoy's connection manager adds them.
//   - There are no gRPC services: proxy_grpc_call and proxy_grpc_stream answer
//     BadArgument, as Envoy does for a service it cannot resolve.
//   - Logs are captured at every level by default (Config.WithLogLevel).
//   - A stream paused with no callout in flight and no tick period set is an
//     error from Host.Do, where Envoy would wait for a timeout.
//
// See https://github.com/proxy-wasm/spec and
// https://github.com/proxy-wasm/proxy-wasm-cpp-host.
package hostcalls
