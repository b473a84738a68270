// SPDX-License-Identifier: Apache-2.0

package server

import (
	"context"
	"errors"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/credgate/credgate/tokencluster/internal/throttle"
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
		s.opts.Logger.Warn("login throttled", "endpoint", endpoint, "account", account, "source", src,
			"retry_after_s", retryAfter(wait))
		return errThrottled(wait)
	}
	err = check()
	var ae *apiError
	switch {
	case err == nil:
		s.record(ctx, a, true)
	case errors.As(err, &ae) && ae.Status == http.StatusUnauthorized:
		s.opts.Logger.Warn("login failed", "endpoint", endpoint, "account", account, "source", src)
		s.record(ctx, a, false)
	}
	return err
}

func (s *Server) record(ctx context.Context, a *throttle.Attempt, ok bool) {
	if err := a.End(ctx, ok); err != nil {
		s.opts.Logger.Error("login throttle unavailable", "err", err)
	}
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
