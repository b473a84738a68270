// SPDX-License-Identifier: Apache-2.0

package authn

import (
	"errors"

	"github.com/credgate/credgate/plugin/internal/textf"
)

// Sentinel errors classify every denial. A DenyError wraps exactly one of
// them, so callers test the class with errors.Is.
var (
	// ErrMissing means the request carries no credentials the route accepts.
	ErrMissing = errors.New("credentials missing")
	// ErrMalformed means credentials are present but cannot be parsed.
	ErrMalformed = errors.New("credentials malformed")
	// ErrInvalid means the credentials parsed but did not verify.
	ErrInvalid = errors.New("credentials invalid")
	// ErrExpired means the credentials verified but are past their lifetime.
	ErrExpired = errors.New("credentials expired")
	// ErrForbidden means the caller is known but may not perform the request.
	ErrForbidden = errors.New("access forbidden")
	// ErrUnavailable means a dependency needed to decide is not reachable.
	ErrUnavailable = errors.New("verification unavailable")
)

// DenyError is a denial with everything needed to answer the client and to
// log the reason. Message is safe to show to the client; Detail is for the
// operator's log and must never contain secret material.
type DenyError struct {
	// Status is the HTTP status to answer with (401, 403 or 503).
	Status int
	// Reason is a short machine-readable code, for example "jwt_expired".
	Reason string
	// Message is the public description sent to the client.
	Message string
	// Detail is the private description for the log.
	Detail string
	// Scopes lists the scopes the route requires, for insufficient-scope answers.
	Scopes []string
	// Code is a scheme-specific numeric code for styles that carry one (0: none).
	Code int
	// KeySource names a remote key set whose fetch may decide differently
	// (a token signed by a key the set does not hold yet, or no set at all):
	// the filter may fetch it and decide once more.
	KeySource string
	kind      error
}

// Deny builds a DenyError of the given class. The status follows the class:
// 403 for ErrForbidden, 503 for ErrUnavailable, 401 otherwise.
func Deny(kind error, reason, message string) *DenyError {
	status := 401
	switch kind {
	case ErrForbidden:
		status = 403
	case ErrUnavailable:
		status = 503
	}
	return &DenyError{Status: status, Reason: reason, Message: message, kind: kind}
}

// WithDetail returns e with the private detail set.
func (e *DenyError) WithDetail(format string, args ...any) *DenyError {
	e.Detail = textf.Sprintf(format, args...)
	return e
}

// WithStatus returns e with the HTTP status overridden.
func (e *DenyError) WithStatus(status int) *DenyError {
	e.Status = status
	return e
}

// WithKeySource returns e naming the remote key set that may decide anew.
func (e *DenyError) WithKeySource(name string) *DenyError {
	e.KeySource = name
	return e
}

// WithCode returns e with a scheme-specific numeric code.
func (e *DenyError) WithCode(code int) *DenyError {
	e.Code = code
	return e
}

// Error implements error. It never contains secret material.
func (e *DenyError) Error() string {
	if e.Detail != "" {
		return e.Reason + ": " + e.Detail
	}
	return e.Reason + ": " + e.Message
}

// Unwrap returns the class of the denial.
func (e *DenyError) Unwrap() error { return e.kind }
