// SPDX-License-Identifier: Apache-2.0

package jose

import (
	"errors"
	"math"
	"time"

	"github.com/tidwall/gjson"

	"github.com/credgate/credgate/plugin/internal/stamp"
	"github.com/credgate/credgate/plugin/internal/textf"
)

// Errors of Validate, tested with errors.Is.
var (
	ErrExpired     = errors.New("token expired")
	ErrNotYetValid = errors.New("token not valid yet")
	ErrClaims      = errors.New("claims invalid")
)

// Expectations are the registered claims a token must satisfy (RFC 7519 §4.1).
type Expectations struct {
	// Issuer, when set, must equal "iss".
	Issuer string
	// Audiences, when set, must share one value with "aud" (a string or an
	// array of strings).
	Audiences []string
	// Leeway is the clock skew tolerated on exp, nbf and iat.
	Leeway time.Duration
}

// Times are a token's validated time claims.
type Times struct {
	Expiry    stamp.Stamp
	NotBefore stamp.Stamp // zero: none
}

// Validate checks the registered claims at now: "exp" is required, "nbf" and
// "iat" (not in the future) are checked when present, each a JSON number;
// "iss" and "aud" as e requires.
func Validate(claims []byte, e Expectations, now time.Time) (Times, error) {
	var t Times
	c := gjson.ParseBytes(claims)
	exp, ok, err := numericDate(c, "exp")
	if err != nil {
		return t, err
	}
	if !ok {
		return t, textf.Errorf("%w: exp is required", ErrClaims)
	}
	t.Expiry = stamp.Of(exp)
	nbf, hasNbf, err := numericDate(c, "nbf")
	if err != nil {
		return t, err
	}
	if hasNbf {
		t.NotBefore = stamp.Of(nbf)
	}
	iat, hasIat, err := numericDate(c, "iat")
	if err != nil {
		return t, err
	}
	if e.Issuer != "" {
		if iss := c.Get("iss"); iss.Type != gjson.String || iss.Str != e.Issuer {
			return t, textf.Errorf("%w: iss is not %q", ErrClaims, e.Issuer)
		}
	}
	if len(e.Audiences) > 0 && !audienceMatches(c.Get("aud"), e.Audiences) {
		return t, textf.Errorf("%w: aud does not name this audience", ErrClaims)
	}
	if err := t.Check(now, e.Leeway); err != nil {
		return t, err
	}
	if hasIat && now.Add(e.Leeway).Before(iat) {
		return t, textf.Errorf("%w: issued in the future", ErrNotYetValid)
	}
	return t, nil
}

// Check tests the time window at now, as Validate does; a cached token is
// checked again with it on every use.
func (t Times) Check(now time.Time, leeway time.Duration) error {
	if !now.Before(t.Expiry.Time().Add(leeway)) {
		return ErrExpired
	}
	if !t.NotBefore.IsZero() && now.Add(leeway).Before(t.NotBefore.Time()) {
		return ErrNotYetValid
	}
	return nil
}

func numericDate(c gjson.Result, name string) (time.Time, bool, error) {
	v := c.Get(name)
	if !v.Exists() {
		return time.Time{}, false, nil
	}
	if v.Type != gjson.Number {
		return time.Time{}, false, textf.Errorf("%w: %s is not a number", ErrClaims, name)
	}
	f := v.Num
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1<<40 {
		return time.Time{}, false, textf.Errorf("%w: %s is out of range", ErrClaims, name)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true, nil
}

func audienceMatches(aud gjson.Result, want []string) bool {
	match := func(s string) bool {
		for _, w := range want {
			if s == w {
				return true
			}
		}
		return false
	}
	switch {
	case aud.Type == gjson.String:
		return match(aud.Str)
	case aud.IsArray():
		found := false
		aud.ForEach(func(_, v gjson.Result) bool {
			found = v.Type == gjson.String && match(v.Str)
			return !found
		})
		return found
	}
	return false
}
