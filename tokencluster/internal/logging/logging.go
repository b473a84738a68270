// SPDX-License-Identifier: Apache-2.0

// Package logging carries a request's correlation ids (x-request-id and the
// W3C traceparent) into every log line written for that request, and routes
// the go-redis library's own log lines through slog.
package logging

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/credgate/credgate/plugin/tokenapi"
)

type ctxKey struct{}

// ids are the correlation values of one request, already checked.
type ids struct{ requestID, traceparent string }

// WithRequest returns ctx carrying requestID and traceparent when they are
// well formed (tokenapi.ValidRequestID, tokenapi.ValidTraceparent: bounded,
// printable); malformed values are dropped, never logged, since they come
// from the network.
func WithRequest(ctx context.Context, requestID, traceparent string) context.Context {
	v := ids{}
	if tokenapi.ValidRequestID(requestID) {
		v.requestID = requestID
	}
	if tokenapi.ValidTraceparent(traceparent) {
		v.traceparent = traceparent
	}
	if v == (ids{}) {
		return ctx
	}
	return context.WithValue(ctx, ctxKey{}, v)
}

// RequestID returns the x-request-id carried by ctx, or "".
func RequestID(ctx context.Context) string {
	v, _ := ctx.Value(ctxKey{}).(ids)
	return v.requestID
}

// Traceparent returns the traceparent carried by ctx, or "".
func Traceparent(ctx context.Context) string {
	v, _ := ctx.Value(ctxKey{}).(ids)
	return v.traceparent
}

// Handler adds request_id and traceparent from the record's context to
// every record; wrap the process's handler with it and log with the
// *Context methods.
type Handler struct{ slog.Handler }

// NewHandler wraps h.
func NewHandler(h slog.Handler) *Handler {
	if w, ok := h.(*Handler); ok {
		return w
	}
	return &Handler{Handler: h}
}

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if v, ok := ctx.Value(ctxKey{}).(ids); ok {
		if v.requestID != "" {
			r.AddAttrs(slog.String("request_id", v.requestID))
		}
		if v.traceparent != "" {
			r.AddAttrs(slog.String("traceparent", v.traceparent))
		}
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	return &Handler{Handler: h.Handler.WithAttrs(as)}
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{Handler: h.Handler.WithGroup(name)}
}

// Redis adapts a slog.Logger to go-redis's logger interface
// (redis.SetLogger): each line becomes a WARN record with
// "component":"go-redis" (the library logs connection and pool trouble).
type Redis struct{ L *slog.Logger }

// Printf implements go-redis's internal.Logging.
func (r Redis) Printf(ctx context.Context, format string, v ...any) {
	if ctx == nil {
		ctx = context.Background()
	}
	r.L.WarnContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}
