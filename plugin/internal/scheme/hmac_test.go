// SPDX-License-Identifier: Apache-2.0

package scheme

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/stamp"
	"github.com/credgate/credgate/plugin/tokenapi"
)

const hmacUserKey = "user-hash-key-0123"

// sign returns the hash-key of user at ts under key.
func sign(key, user, ts string) string { return hex.EncodeToString(macOf(nil, key, user, ts)) }

// macOf is HMAC-SHA256(key, user-id + timestamp) from crypto/hmac, keyed
// anew: the reference the verifier's kept MACs are checked against.
func macOf(dst []byte, key, userID, timestamp string) []byte {
	m := hmac.New(sha256.New, []byte(key))
	io.WriteString(m, userID)
	io.WriteString(m, timestamp)
	return m.Sum(dst)
}

func hmacReq(user, ts, hash string) authn.Request {
	return reqTo("/", "h", "user-id", user, "timestamp", ts, "hash-key", hash)
}

// memReplay is a replay guard in memory.
type memReplay map[string]int64

func (m memReplay) FirstUse(key string, until int64) bool {
	if _, seen := m[key]; seen {
		return false
	}
	m[key] = until
	return true
}

func TestHMACKnownVector(t *testing.T) {
	// RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
	got := sign("Jefe", "what do ya want ", "for nothing?")
	if got != "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" {
		t.Fatalf("mac = %s", got)
	}
}

func TestHMACPrepare(t *testing.T) {
	v, err := NewHMAC(HMACOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ts := strconv.FormatInt(testNow.Unix(), 10)
	good := sign(hmacUserKey, "u1", ts)
	l, d := v.Prepare(hmacReq("u1", ts, good), stamp.Of(testNow))
	if d != nil {
		t.Fatal(d)
	}
	checkLookup(t, l, tokenapi.PathVerify, HMACName, "u1", "u1")
	var body tokenapi.VerifyRequest
	if err := json.Unmarshal(l.AppendBody(nil), &body); err != nil || body != (tokenapi.VerifyRequest{Kind: tokenapi.KindHMACKey, UserID: "u1"}) {
		t.Fatalf("body %s", l.AppendBody(nil))
	}
	at := func(d time.Duration) string { return strconv.FormatInt(testNow.Add(d).Unix(), 10) }
	tests := []struct {
		name   string
		req    authn.Request
		kind   error
		reason string
	}{
		{name: "edge of the window", req: hmacReq("u1", at(-15*time.Minute), good)},
		{name: "edge of the skew", req: hmacReq("u1", at(30*time.Second), good)},
		{name: "upper-case hex", req: hmacReq("u1", ts, strings.ToUpper(good))},
		{name: "too old", req: hmacReq("u1", at(-15*time.Minute-time.Second), good), kind: authn.ErrExpired, reason: "hmac_expired"},
		{name: "too far ahead", req: hmacReq("u1", at(31*time.Second), good), kind: authn.ErrInvalid, reason: "hmac_future"},
		{name: "no user", req: reqTo("/", "h", "timestamp", ts, "hash-key", good), kind: authn.ErrMissing, reason: "hmac_missing"},
		{name: "no timestamp", req: reqTo("/", "h", "user-id", "u1", "hash-key", good), kind: authn.ErrMissing},
		{name: "empty hash", req: hmacReq("u1", ts, ""), kind: authn.ErrMissing},
		{name: "milliseconds", req: hmacReq("u1", strconv.FormatInt(testNow.UnixMilli(), 10), good), kind: authn.ErrMalformed},
		{name: "signed timestamp", req: hmacReq("u1", "+"+ts, good), kind: authn.ErrMalformed},
		{name: "negative timestamp", req: hmacReq("u1", "-1", good), kind: authn.ErrMalformed},
		{name: "timestamp with a dot", req: hmacReq("u1", ts+".5", good), kind: authn.ErrMalformed},
		{name: "short hash", req: hmacReq("u1", ts, good[:62]), kind: authn.ErrMalformed},
		{name: "non-hex hash", req: hmacReq("u1", ts, "zz"+good[2:]), kind: authn.ErrMalformed},
		{name: "base64 hash", req: hmacReq("u1", ts, strings.Repeat("A", 43)+"="), kind: authn.ErrMalformed},
		{name: "user with a space", req: hmacReq("u 1", ts, good), kind: authn.ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, d := v.Prepare(tc.req, stamp.Of(testNow))
			if tc.kind == nil {
				if d != nil {
					t.Fatal(d)
				}
				return
			}
			wantDeny(t, d, tc.kind, tc.reason, 401)
		})
	}
}

func TestHMACComplete(t *testing.T) {
	ts := strconv.FormatInt(testNow.Unix()-60, 10)
	good := sign(hmacUserKey, "u1", ts)
	key := func(edit func(a *authn.Answer)) *authn.Answer {
		return active(tokenapi.KindHMACKey, func(a *authn.Answer) {
			a.Subject, a.HMACKey, a.Digest = "u1", hmacUserKey, tokenapi.Digest("u1")
			if edit != nil {
				edit(a)
			}
		})
	}
	tests := []struct {
		name   string
		req    authn.Request
		answer *authn.Answer
		kind   error
		reason string
		status int
	}{
		{name: "valid", req: hmacReq("u1", ts, good), answer: key(nil)},
		{name: "another user's key", req: hmacReq("u1", ts, sign("other", "u1", ts)), answer: key(nil), kind: authn.ErrInvalid, reason: "hmac_signature", status: 401},
		// The whole MAC is compared: only its last hex digit differs here.
		{name: "last hex digit changed", req: hmacReq("u1", ts, flipLastHex(good)), answer: key(nil), kind: authn.ErrInvalid, reason: "hmac_signature", status: 401},
		{name: "last digit dropped", req: hmacReq("u1", ts, good[:len(good)-1]), answer: key(nil), kind: authn.ErrMalformed},
		{name: "digit appended", req: hmacReq("u1", ts, good+"0"), answer: key(nil), kind: authn.ErrMalformed},
		{name: "timestamp changed", req: hmacReq("u1", strconv.FormatInt(testNow.Unix()-61, 10), good), answer: key(nil), kind: authn.ErrInvalid, reason: "hmac_signature"},
		{name: "user changed", req: hmacReq("u2", ts, good), answer: key(func(a *authn.Answer) { a.Subject, a.Digest = "u2", tokenapi.Digest("u2") }), kind: authn.ErrInvalid, reason: "hmac_signature"},
		{name: "answer for another user", req: hmacReq("u1", ts, good), answer: key(func(a *authn.Answer) { a.Subject, a.Digest = "u2", "" }), kind: authn.ErrInvalid, reason: "hmac_invalid"},
		{name: "answer without a key", req: hmacReq("u1", ts, good), answer: key(func(a *authn.Answer) { a.HMACKey = "" }), kind: authn.ErrInvalid, reason: "hmac_invalid"},
		{name: "unknown user", req: hmacReq("u1", ts, good), answer: inactive(tokenapi.ReasonUnknown), kind: authn.ErrInvalid, reason: "hmac_invalid", status: 401},
		{name: "revoked user", req: hmacReq("u1", ts, good), answer: inactive(tokenapi.ReasonRevoked), kind: authn.ErrInvalid, reason: "hmac_revoked"},
		{name: "no answer", req: hmacReq("u1", ts, good), kind: authn.ErrUnavailable, status: 503},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, _ := NewHMAC(HMACOptions{})
			id, d := v.Complete(tc.req, tc.answer, stamp.Of(testNow))
			if tc.kind != nil {
				wantDeny(t, d, tc.kind, tc.reason, tc.status)
				if id != nil {
					t.Fatal("identity with a denial")
				}
				return
			}
			if d != nil {
				t.Fatal(d)
			}
			if id.Subject != "u1" || id.Scheme != HMACName || id.Tenant != "acme" {
				t.Fatalf("identity %+v", id)
			}
		})
	}
}

func TestHMACReplay(t *testing.T) {
	ts := strconv.FormatInt(testNow.Unix(), 10)
	good := sign(hmacUserKey, "u1", ts)
	answer := active(tokenapi.KindHMACKey, func(a *authn.Answer) { a.Subject, a.HMACKey = "u1", hmacUserKey })
	guard := memReplay{}
	v, _ := NewHMAC(HMACOptions{ReplayProtection: true, Replay: guard})
	if _, d := v.Complete(hmacReq("u1", ts, good), answer, stamp.Of(testNow)); d != nil {
		t.Fatalf("first use: %v", d)
	}
	_, d := v.Complete(hmacReq("u1", ts, strings.ToUpper(good)), answer, stamp.Of(testNow.Add(time.Second)))
	wantDeny(t, d, authn.ErrInvalid, "hmac_replayed", 401)
	for k, until := range guard {
		if until != testNow.Unix()+901 || strings.Contains(k, good) {
			t.Fatalf("replay entry %s until %d", k, until)
		}
	}
	// A bad signature is refused before it reaches the replay store.
	if _, d := v.Complete(hmacReq("u1", ts, sign("x", "u1", ts)), answer, stamp.Of(testNow)); d == nil || len(guard) != 1 {
		t.Fatalf("bad signature: %v, %d entries", d, len(guard))
	}
	closed, _ := NewHMAC(HMACOptions{ReplayProtection: true})
	_, d = closed.Complete(hmacReq("u1", ts, good), answer, stamp.Of(testNow))
	wantDeny(t, d, authn.ErrUnavailable, "hmac_replay_unavailable", 503)
	off, _ := NewHMAC(HMACOptions{})
	for i := 0; i < 2; i++ {
		if _, d := off.Complete(hmacReq("u1", ts, good), answer, stamp.Of(testNow)); d != nil {
			t.Fatalf("without replay protection, use %d: %v", i, d)
		}
	}
}

func TestHMACOptions(t *testing.T) {
	for _, o := range []HMACOptions{{Window: time.Millisecond}, {Window: 48 * time.Hour}, {FutureSkew: -time.Second}, {FutureSkew: 2 * time.Hour}} {
		if _, err := NewHMAC(o); err == nil {
			t.Errorf("accepted %+v", o)
		}
	}
	v, _ := NewHMAC(HMACOptions{Window: time.Minute, FutureSkew: time.Second})
	ts := strconv.FormatInt(testNow.Add(-2*time.Minute).Unix(), 10)
	if _, d := v.Prepare(hmacReq("u1", ts, sign("k", "u1", ts)), stamp.Of(testNow)); d == nil {
		t.Fatal("window option ignored")
	}
	if got := strings.Join(v.Strip().Headers, " "); got != "user-id timestamp hash-key" {
		t.Fatalf("strip %q", got)
	}
}

// FuzzHMACInputs feeds arbitrary user-id, timestamp and hash-key headers to
// the HMAC verifier. Invariants: no panic; an identity only when hash-key is
// the MAC of user-id + timestamp under the answer's key and the timestamp is
// within the window.
func FuzzHMACInputs(f *testing.F) {
	ts := strconv.FormatInt(testNow.Unix(), 10)
	f.Add("u1", ts, sign(hmacUserKey, "u1", ts), hmacUserKey)
	f.Add("u1", ts, strings.ToUpper(sign(hmacUserKey, "u1", ts)), hmacUserKey)
	f.Add("u1", "0", sign(hmacUserKey, "u1", "0"), hmacUserKey)
	f.Add("u1", "99999999999999999999", "00", "k")
	f.Add("u1", "-1", "", "")
	f.Add("", ts, strings.Repeat("0", 64), "")
	f.Add("u1"+ts[:2], ts[2:], sign(hmacUserKey, "u1", ts), hmacUserKey)
	f.Add(strings.Repeat("u", 9000), ts, strings.Repeat("g", 64), "k")
	f.Fuzz(func(t *testing.T, user, ts, hash, key string) {
		r := hmacReq(user, ts, hash)
		v, _ := NewHMAC(HMACOptions{})
		l, d := v.Prepare(r, stamp.Of(testNow))
		if (l == nil) == (d == nil) {
			t.Fatal("Prepare must return exactly one of lookup and denial")
		}
		a := active(tokenapi.KindHMACKey, func(a *authn.Answer) { a.Subject, a.HMACKey = user, key })
		id, d := v.Complete(r, a, stamp.Of(testNow))
		if (id == nil) == (d == nil) {
			t.Fatal("Complete must return exactly one of identity and denial")
		}
		if id == nil {
			return
		}
		at, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || l == nil || key == "" || !strings.EqualFold(hash, sign(key, user, ts)) ||
			testNow.Unix()-at > 900 || at-testNow.Unix() > 30 {
			t.Fatalf("identity for user %q ts %q hash %q", user, ts, hash)
		}
	})
}

// flipLastHex changes the last hex digit of a MAC, keeping it well-formed.
func flipLastHex(mac string) string {
	last := mac[len(mac)-1]
	repl := byte('0')
	if last == '0' {
		repl = '1'
	}
	return mac[:len(mac)-1] + string(repl)
}

// The verifier's kept MACs: each answer's MAC is keyed with that answer's
// key, stays right when reused and after the memo wraps, and the memo holds
// at most macMemoSize answers.
func TestHMACKeptMACs(t *testing.T) {
	var m macMemo
	answers := make([]*authn.Answer, 3*macMemoSize)
	for i := range answers {
		answers[i] = &authn.Answer{HMACKey: "key-" + strconv.Itoa(i)}
	}
	for round := 0; round < 2; round++ {
		for i, a := range answers {
			for _, ts := range []string{"1700000000", "1700000001"} {
				got := hex.EncodeToString(m.of(a).sum("user-"+strconv.Itoa(i), ts))
				if want := hex.EncodeToString(macOf(nil, a.HMACKey, "user-"+strconv.Itoa(i), ts)); got != want {
					t.Fatalf("round %d answer %d: mac %s, want %s", round, i, got, want)
				}
			}
			if n := len(m.by); n > macMemoSize {
				t.Fatalf("memo holds %d answers, bound %d", n, macMemoSize)
			}
		}
	}
	// Another answer with another key never answers with the first one's MAC.
	a, b := &authn.Answer{HMACKey: "alpha"}, &authn.Answer{HMACKey: "beta"}
	ma := hex.EncodeToString(m.of(a).sum("u", "1"))
	if mb := hex.EncodeToString(m.of(b).sum("u", "1")); ma == mb {
		t.Fatal("two keys gave one MAC")
	}
	if again := hex.EncodeToString(m.of(a).sum("u", "1")); again != ma {
		t.Fatalf("reused MAC %s, first %s", again, ma)
	}
}

// A kept MAC agrees with crypto/hmac keyed anew, for any key (longer than a
// block too) and message, in any order of reuse.
func FuzzKeptMAC(f *testing.F) {
	f.Add("Jefe", "what do ya want ", "for nothing?", "other", "1")
	f.Add(strings.Repeat("k", 131), "user", "1700000000", "", "")
	f.Fuzz(func(t *testing.T, key, user, ts, user2, ts2 string) {
		var m macMemo
		a := &authn.Answer{HMACKey: key}
		for _, in := range [][2]string{{user, ts}, {user2, ts2}, {user, ts}} {
			got := m.of(a).sum(in[0], in[1])
			if want := macOf(nil, key, in[0], in[1]); !hmac.Equal(got, want) {
				t.Fatalf("mac(%q, %q+%q) = %x, want %x", key, in[0], in[1], got, want)
			}
		}
	})
}

// Once the memo is full, keying the MAC of a new answer (a replaced entry
// keyed again) and using a kept one allocate nothing.
func TestHMACKeptMACsAllocateNothing(t *testing.T) {
	var m macMemo
	answers := make([]*authn.Answer, 2*macMemoSize)
	for i := range answers {
		answers[i] = &authn.Answer{HMACKey: "key-" + strconv.Itoa(i) + strings.Repeat("k", i%100)}
	}
	for _, a := range answers[:macMemoSize] {
		m.of(a).sum("user", "1700000000")
	}
	next := macMemoSize
	if n := testing.AllocsPerRun(200, func() {
		a := answers[next%len(answers)]
		next++
		m.of(a).sum("user", "1700000000")
		m.of(a).sum("user", "1700000001")
	}); n != 0 {
		t.Errorf("%.1f allocations per new answer, want 0", n)
	}
}
