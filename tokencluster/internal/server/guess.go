// SPDX-License-Identifier: Apache-2.0

package server

import (
	"errors"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// guess runs check, a password or secret comparison for account at
// endpoint, under the login throttle: while the account or the client's
// source address is in backoff the answer is 429 with Retry-After, without
// running check (so unknown and known accounts are answered alike); a check
// that fails authentication (401) counts a failure, a success clears the
// account's. The account id and the source are logged; the secret never is.
func (s *Server) guess(r *http.Request, endpoint, account string, check func() error) error {
	ctx := r.Context()
	src := s.source(r)
	a, wait, err := s.limiter.Begin(ctx, endpoint, account, src)
	if err != nil {
		return errUnavailable(err)
	}
	if a == nil {
		// Counted, and logged at DEBUG only: the WARN line was written when the refusal began.
		s.m.LoginThrottled.WithLabelValues(endpoint).Inc()
		s.opts.Logger.DebugContext(ctx, "login refused by the throttle", "endpoint", endpoint, "account", account,
			"source", src, "retry_after_s", retryAfter(wait))
		return errThrottled(wait)
	}
	err = check()
	var ae *apiError
	switch {
	case err == nil:
		if err := a.End(ctx, true); err != nil {
			s.opts.Logger.ErrorContext(ctx, "login throttle unavailable", "err", err)
		}
	case errors.As(err, &ae) && ae.Status == http.StatusUnauthorized:
		s.m.LoginFailures.WithLabelValues(endpoint).Inc()
		s.opts.Logger.InfoContext(ctx, "login failed", "endpoint", endpoint, "account", account, "source", src)
		acct, srcWait, ferr := a.Fail(ctx)
		switch {
		case ferr != nil:
			s.opts.Logger.ErrorContext(ctx, "login throttle unavailable", "err", ferr)
		case acct > 0 || srcWait > 0:
			s.opts.Logger.WarnContext(ctx, "login throttled", "endpoint", endpoint, "account", account, "source", src,
				"account_retry_after_s", retryAfter(acct), "source_retry_after_s", retryAfter(srcWait))
		}
	}
	return err
}

// source is the client's address: the last X-Forwarded-For entry when the
// service sits behind a proxy that appends it (--trust-forwarded-for; Envoy
// with use_remote_address), else the peer address.
func (s *Server) source(r *http.Request) string {
	if s.opts.TrustForwardedFor {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			parts := strings.Split(xff[len(xff)-1], ",")
			if last := strings.TrimSpace(parts[len(parts)-1]); last != "" {
				return last
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func retryAfter(d time.Duration) int { return int(math.Ceil(d.Seconds())) }

func errThrottled(wait time.Duration) *apiError {
	return &apiError{Status: http.StatusTooManyRequests, Code: codeTooManyAttempts,
		Msg: "too many failed attempts; retry after " + strconv.Itoa(retryAfter(wait)) + " s", RetryAfter: wait}
}
