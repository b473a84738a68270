// SPDX-License-Identifier: Apache-2.0

package config

import (
	"time"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/scheme"
)

var userKeyKeys = []string{"require_developer_id"}

// buildUserKey builds the user_api_key verifier.
func buildUserKey(b Build) (authn.Verifier, error) {
	o, err := optionsOf(b, userKeyKeys)
	if err != nil {
		return nil, err
	}
	var opts scheme.UserKeyOptions
	if opts.RequireDeveloperID, err = o.boolean("require_developer_id"); err != nil {
		return nil, err
	}
	v, err := scheme.NewUserKey(opts)
	if err != nil {
		return nil, &Error{Path: b.Path, Err: err}
	}
	return v, nil
}

var sessionKeys = []string{"refresh_seconds"}

// buildSession builds the session_token verifier.
func buildSession(b Build) (authn.Verifier, error) {
	o, err := optionsOf(b, sessionKeys)
	if err != nil {
		return nil, err
	}
	secs, err := o.whole("refresh_seconds", int64(scheme.DefaultSessionRefresh/time.Second), 1, 600)
	if err != nil {
		return nil, err
	}
	v, err := scheme.NewSession(scheme.SessionOptions{Refresh: time.Duration(secs) * time.Second})
	if err != nil {
		return nil, &Error{Path: b.Path, Err: err}
	}
	return v, nil
}

var hmacKeys = []string{"window_seconds", "future_skew_seconds", "replay_protection"}

// buildHMAC builds the hmac verifier. With replay protection on, the replay
// store comes from the proxy; when it is missing at request time the
// verifier refuses with 503 rather than accept a possible replay.
func buildHMAC(b Build) (authn.Verifier, error) {
	o, err := optionsOf(b, hmacKeys)
	if err != nil {
		return nil, err
	}
	window, err := o.whole("window_seconds", int64(scheme.DefaultHMACWindow/time.Second), 1, 86400)
	if err != nil {
		return nil, err
	}
	skew, err := o.whole("future_skew_seconds", int64(scheme.DefaultHMACFutureSkew/time.Second), 1, 3600)
	if err != nil {
		return nil, err
	}
	opts := scheme.HMACOptions{Window: time.Duration(window) * time.Second, FutureSkew: time.Duration(skew) * time.Second}
	if opts.ReplayProtection, err = o.boolean("replay_protection"); err != nil {
		return nil, err
	}
	if opts.ReplayProtection && b.Env.Replay != nil {
		opts.Replay = b.Env.Replay
	}
	v, err := scheme.NewHMAC(opts)
	if err != nil {
		return nil, &Error{Path: b.Path, Err: err}
	}
	return v, nil
}
