// SPDX-License-Identifier: Apache-2.0

package throttle

import (
	"context"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	p := Policy{Threshold: 3, Base: time.Second, Max: 10 * time.Second}
	for n, want := range map[int64]time.Duration{0: 0, 2: 0, 3: time.Second, 4: 2 * time.Second, 5: 4 * time.Second, 6: 8 * time.Second, 7: 10 * time.Second, 50: 10 * time.Second} {
		if got := p.Backoff(n); got != want {
			t.Errorf("Backoff(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestLimiter(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	l := &Limiter{C: NewMemory(clock), Account: Policy{Threshold: 3, Window: time.Minute, Base: time.Second, Max: time.Minute},
		Source: Policy{Threshold: 10, Window: time.Minute, Base: time.Minute, Max: time.Hour}}
	ctx := context.Background()
	fail := func(account, src string) time.Duration {
		a, wait, err := l.Begin(ctx, "login", account, src)
		if err != nil {
			t.Fatal(err)
		}
		if a == nil {
			return wait
		}
		if err := a.End(ctx, false); err != nil {
			t.Fatal(err)
		}
		return 0
	}
	for i := 0; i < 3; i++ {
		if wait := fail("pea", "10.0.0.1"); wait != 0 {
			t.Fatalf("attempt %d refused", i)
		}
	}
	if wait := fail("pea", "10.0.0.2"); wait != time.Second {
		t.Fatalf("after 3 failures: wait %v, want 1s (from any source)", wait)
	}
	now = now.Add(time.Second)
	fail("pea", "10.0.0.1") // the 4th failure: 2 s
	if wait := fail("pea", "10.0.0.1"); wait != 2*time.Second {
		t.Fatalf("after 4 failures: wait %v, want 2s", wait)
	}
	if wait := fail("other", "10.0.0.3"); wait != 0 {
		t.Fatal("another account was refused")
	}
	// A success clears the account.
	now = now.Add(time.Minute)
	a, _, _ := l.Begin(ctx, "login", "pea", "10.0.0.1")
	if a == nil {
		t.Fatal("still refused after the backoff")
	}
	_ = a.End(ctx, true)
	if n, _, _ := l.C.Failures(ctx, "acct:login:pea"); n != 0 {
		t.Fatalf("%d failures after a success", n)
	}
	// The source policy catches guesses spread over accounts.
	for i := 0; i < 10; i++ {
		fail("acct-"+string(rune('a'+i)), "10.9.9.9")
	}
	if wait := fail("fresh", "10.9.9.9"); wait == 0 {
		t.Fatal("a source past its threshold was not refused")
	}
}

func TestMemoryIsBounded(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	m := NewMemory(func() time.Time { return now })
	for i := 0; i < maxKeys+10; i++ {
		_, _, _ = m.AddFailure(context.Background(), "k"+string(rune(i)), DefaultAccount)
	}
	if len(m.keys) > maxKeys {
		t.Fatalf("%d keys", len(m.keys))
	}
}
