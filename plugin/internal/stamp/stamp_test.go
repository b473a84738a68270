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
