// SPDX-License-Identifier: Apache-2.0

package stamp

import (
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   time.Time
		want time.Time
	}{
		{"zero", time.Time{}, time.Time{}},
		{"now", time.Unix(1_764_000_000, 123_456_789), time.Unix(1_764_000_000, 123_456_789)},
		{"before the epoch", time.Unix(-86_400, 5), time.Unix(-86_400, 5)},
		{"the epoch", time.Unix(0, 0), time.Unix(0, 1)},
		{"far future", time.Unix(1<<40, 0), time.Unix(0, 1<<63-1)},
		{"far past", time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), time.Unix(0, -1<<63+1)},
	} {
		got := Of(tc.in).Time()
		if !got.Equal(tc.want) || got.IsZero() != tc.want.IsZero() {
			t.Errorf("%s: Of(%v).Time() = %v, want %v", tc.name, tc.in, got, tc.want)
		}
		if Of(tc.in).IsZero() != tc.in.IsZero() {
			t.Errorf("%s: IsZero disagrees", tc.name)
		}
	}
}

func TestOrderKept(t *testing.T) {
	ts := []time.Time{
		time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), time.Unix(-1, 0), time.Unix(0, 0),
		time.Unix(0, 2), time.Unix(1_764_000_000, 0), time.Unix(1_764_000_000, 1), time.Unix(1<<40, 0),
	}
	for i := 1; i < len(ts); i++ {
		if a, b := Of(ts[i-1]), Of(ts[i]); a >= b {
			t.Errorf("Of(%v) = %d is not before Of(%v) = %d", ts[i-1], a, ts[i], b)
		}
	}
}

func TestSteady(t *testing.T) {
	const sec = int64(time.Second)
	var c Steady
	steps := []struct {
		name       string
		wall, mono int64
		want       int64
	}{
		{"first reading", 1000 * sec, 5 * sec, 1000 * sec},
		{"both advance", 1001 * sec, 6 * sec, 1001 * sec},
		{"wall stepped back 100 s: monotonic time goes on", 902 * sec, 7 * sec, 1002 * sec},
		{"still behind", 903 * sec, 8 * sec, 1003 * sec},
		{"wall stepped forward: the wall clock", 2000 * sec, 9 * sec, 2000 * sec},
		{"wall still, monotonic on", 2000 * sec, 11 * sec, 2002 * sec},
		{"wall catches up", 2010 * sec, 12 * sec, 2010 * sec},
	}
	for _, s := range steps {
		if got := c.Read(Stamp(s.wall), s.mono); int64(got) != s.want {
			t.Errorf("%s: Read(%d, %d) = %d, want %d", s.name, s.wall, s.mono, got, s.want)
		}
	}
}
