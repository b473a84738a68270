// SPDX-License-Identifier: Apache-2.0

// Package stamp holds the instants the plugin keeps in its state (cache
// lifetimes, expiries, fetch and renewal times) as Unix nanoseconds.
//
// A time.Time kept in any field an interface value can reach (and every
// context the proxy holds is an interface value) makes the linker keep
// time.Time's String and binary-marshalling methods for reflection, and
// with them all of package time's formatting and time-zone code: about
// 70 KB of the module, for text the plugin never writes. Code computes with
// time.Time as usual; only what it stores is a Stamp.
package stamp

import (
	"math"
	"time"
)

// Stamp is an instant in Unix nanoseconds; the zero Stamp is no instant,
// like the zero time.Time. Instants outside the years 1678 to 2262 are
// clamped to that range, which keeps their order against any instant a
// clock reads.
type Stamp int64

// Of is t as a Stamp; the zero time.Time gives the zero Stamp.
func Of(t time.Time) Stamp {
	if t.IsZero() {
		return 0
	}
	switch sec := t.Unix(); {
	case sec >= math.MaxInt64/1_000_000_000:
		return math.MaxInt64
	case sec <= math.MinInt64/1_000_000_000:
		return math.MinInt64 + 1
	}
	if n := t.UnixNano(); n != 0 {
		return Stamp(n)
	}
	return 1 // the Unix epoch itself, a nanosecond on: 0 means no instant
}

// Time is the instant as a time.Time (the zero time.Time for the zero Stamp).
func (s Stamp) Time() time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(s))
}

// IsZero reports whether s is no instant.
func (s Stamp) IsZero() bool { return s == 0 }

// Steady turns readings of the wall clock into instants that never go back:
// each instant is the wall clock's, or the previous one plus the time the
// monotonic clock measured since, whichever is later. Lifetimes the plugin
// computes (cache entries, key-set fetches, renewals) then run on the
// monotonic clock when the wall clock is stepped back, as time.Time's
// monotonic reading had them run, and never last longer; a clock stepped
// forward ends them early, the safe side. Checks against instants from
// outside (a token's exp, an answer's expiry) use the same instant: after a
// step back it is ahead of the wall clock by at most the step, which
// refuses early rather than accepts late. The zero Steady is ready.
type Steady struct {
	last Stamp
	mono int64 // the monotonic reading of last, in nanoseconds
}

// Read returns the instant for a wall-clock reading wall taken at the
// monotonic reading mono (nanoseconds from any fixed origin).
func (c *Steady) Read(wall Stamp, mono int64) Stamp {
	s := wall
	if c.last != 0 && mono >= c.mono {
		if floor := c.last + Stamp(mono-c.mono); s < floor {
			s = floor
		}
	}
	c.last, c.mono = s, mono
	return s
}
