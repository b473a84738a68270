// SPDX-License-Identifier: Apache-2.0

package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/credgate/credgate/plugin/tokenapi"
	"github.com/credgate/credgate/tokencluster/internal/registry"
	"github.com/credgate/credgate/tokencluster/internal/store"
)

// apiError is an error with its HTTP answer: status, stable code and public message.
type apiError struct {
	Status int
	Code   string
	Msg    string
	Err    error // private detail, logged, never sent
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter time.Duration
}

func (e *apiError) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Msg + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Msg
}

func (e *apiError) Unwrap() error { return e.Err }

// Error codes (RFC 6749 §5.2 where one fits).
const (
	codeInvalidRequest   = "invalid_request"
	codeInvalidClient    = "invalid_client"
	codeUnsupportedGrant = "unsupported_grant_type"
	codeUnauthorized     = "unauthorized"
	codeForbidden        = "forbidden"
	codeNotFound         = "not_found"
	codeConflict         = "conflict"
	codeTooLarge         = "request_too_large"
	codeMediaType        = "unsupported_media_type"
	codeServerError      = "server_error"
	codeUnavailable      = "temporarily_unavailable"
	codeTooManyAttempts  = "too_many_attempts"
)

func errBadRequest(msg string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: codeInvalidRequest, Msg: msg}
}
func errUnauthorized(msg string) *apiError {
	return &apiError{Status: http.StatusUnauthorized, Code: codeUnauthorized, Msg: msg}
}
func errForbidden(msg string) *apiError {
	return &apiError{Status: http.StatusForbidden, Code: codeForbidden, Msg: msg}
}
func errNotFound(msg string) *apiError {
	return &apiError{Status: http.StatusNotFound, Code: codeNotFound, Msg: msg}
}
func errUnavailable(err error) *apiError {
	return &apiError{Status: http.StatusServiceUnavailable, Code: codeUnavailable, Msg: "storage unavailable", Err: err}
}

var errInternal = &apiError{Status: http.StatusInternalServerError, Code: codeServerError, Msg: "internal error"}

// classify maps any error to its HTTP answer: the one table of the service.
func classify(err error) *apiError {
	var ae *apiError
	var fe *registry.FieldError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &fe):
		return &apiError{Status: http.StatusBadRequest, Code: codeInvalidRequest, Msg: fe.Error(), Err: err}
	case errors.Is(err, registry.ErrInvalid):
		return &apiError{Status: http.StatusBadRequest, Code: codeInvalidRequest, Msg: err.Error(), Err: err}
	case errors.Is(err, registry.ErrUnsupported):
		return &apiError{Status: http.StatusBadRequest, Code: codeInvalidRequest, Msg: err.Error(), Err: err}
	case errors.Is(err, registry.ErrExists):
		return &apiError{Status: http.StatusConflict, Code: codeConflict, Msg: err.Error(), Err: err}
	case errors.Is(err, store.ErrNotFound):
		return &apiError{Status: http.StatusNotFound, Code: codeNotFound, Msg: "not found", Err: err}
	default:
		return &apiError{Status: http.StatusInternalServerError, Code: codeServerError, Msg: "internal error", Err: err}
	}
}

// writeError answers with the RFC 6749 style body {"error","error_description"}.
func writeError(w http.ResponseWriter, err error) {
	ae := classify(err)
	if ae.Code == codeInvalidClient {
		w.Header().Set("WWW-Authenticate", `Basic realm="tokencluster"`)
	}
	setRetryAfter(w, ae)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, ae.Status, tokenapi.OAuthError{Error: ae.Code, ErrorDescription: ae.Msg}, false)
}

func setRetryAfter(w http.ResponseWriter, ae *apiError) {
	if ae.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter(ae.RetryAfter)))
	}
}

// fail logs server-side failures with their private detail, then answers.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if ae := classify(err); ae.Status >= 500 {
		s.opts.Logger.ErrorContext(r.Context(), "request failed", "pattern", r.Pattern, "err", err)
	}
	writeError(w, err)
}

func writeJSON(w http.ResponseWriter, status int, v any, indent bool) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	if indent {
		enc.SetIndent("", "  ")
	}
	_ = enc.Encode(v)
}
