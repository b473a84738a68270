// SPDX-License-Identifier: Apache-2.0

package scheme

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"errors"
	"hash"
	"strconv"
	"time"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/stamp"
	"github.com/credgate/credgate/plugin/tokenapi"
)

// HMACName is the configuration name of the HMAC signature scheme.
const HMACName = "hmac"

// Headers of the HMAC scheme.
const (
	timestampHeader = "timestamp"
	hashKeyHeader   = "hash-key"
)

// Defaults of the HMAC scheme.
const (
	DefaultHMACWindow     = 15 * time.Minute
	DefaultHMACFutureSkew = 30 * time.Second
)

// ReplayGuard remembers accepted signatures across the proxy's VMs. FirstUse
// records key until the unix time until and reports whether it is new; when
// it cannot tell it reports false.
type ReplayGuard interface {
	FirstUse(key string, until int64) bool
}

// HMACOptions configures the HMAC verifier.
type HMACOptions struct {
	// Window is how long after its timestamp a signature is accepted
	// (default DefaultHMACWindow).
	Window time.Duration
	// FutureSkew is how far ahead of the clock a timestamp may be
	// (default DefaultHMACFutureSkew).
	FutureSkew time.Duration
	// ReplayProtection refuses a signature that was already accepted.
	ReplayProtection bool
	// Replay is the store of accepted signatures. When protection is on and
	// it is nil, requests are refused with 503 (fail closed).
	Replay ReplayGuard
}

// HMAC verifies `hash-key` = hex(HMAC-SHA256(user's hash key, user-id +
// timestamp)) with the user's key from the token cluster.
//
// See https://www.rfc-editor.org/rfc/rfc2104
type HMAC struct {
	opts HMACOptions
	n    nouns
	macs macMemo
}

// NewHMAC validates opts and returns the verifier.
func NewHMAC(opts HMACOptions) (*HMAC, error) {
	if opts.Window == 0 {
		opts.Window = DefaultHMACWindow
	}
	if opts.FutureSkew == 0 {
		opts.FutureSkew = DefaultHMACFutureSkew
	}
	if opts.Window < time.Second || opts.Window > 24*time.Hour {
		return nil, errors.New("the window must be from 1 second to 24 hours")
	}
	if opts.FutureSkew < 0 || opts.FutureSkew > time.Hour {
		return nil, errors.New("the future skew must be from 0 to 1 hour")
	}
	return &HMAC{opts: opts, n: nouns{scheme: HMACName, noun: "signature"}}, nil
}

// signed is a parsed HMAC request.
type signed struct {
	userID    string
	timestamp string
	at        int64
	mac       [sha256.Size]byte
}

// Name implements authn.Verifier.
func (*HMAC) Name() string { return HMACName }

// Present implements authn.Verifier: the hash-key header is sent.
func (*HMAC) Present(r authn.Request) bool {
	_, ok := r.Header(hashKeyHeader)
	return ok
}

// Strip implements authn.Verifier.
func (*HMAC) Strip() authn.Locations {
	return authn.Locations{Headers: []string{UserIDParam, timestampHeader, hashKeyHeader}}
}

// Verify implements authn.Verifier; the user's key comes from the token cluster.
func (*HMAC) Verify(authn.Request, stamp.Stamp) (*authn.Identity, *authn.DenyError) {
	return nil, remoteOnly(HMACName)
}

// Prepare implements authn.RemoteVerifier: the headers are checked and the
// timestamp must be within the window before the user's key is looked up.
func (v *HMAC) Prepare(r authn.Request, at stamp.Stamp) (*authn.Lookup, *authn.DenyError) {
	now := at.Time()
	s, d := v.parse(r, now)
	if d != nil {
		return nil, d
	}
	req := tokenapi.VerifyRequest{Kind: tokenapi.KindHMACKey, UserID: s.userID}
	return verification(r, HMACName, req, s.userID, s.userID), nil
}

// Complete implements authn.RemoteVerifier: the signature must be the MAC of
// user-id + timestamp under the user's key, compared in constant time, and,
// with replay protection, never accepted before.
func (v *HMAC) Complete(r authn.Request, a *authn.Answer, at stamp.Stamp) (*authn.Identity, *authn.DenyError) {
	now := at.Time()
	s, d := v.parse(r, now)
	if d != nil {
		return nil, d
	}
	if d := v.n.checkAnswer(a, tokenapi.KindHMACKey, now); d != nil {
		return nil, d
	}
	if a.HMACKey == "" || (a.Subject != "" && a.Subject != s.userID) {
		return nil, authn.Deny(authn.ErrInvalid, "hmac_invalid", "The signature is invalid.").
			WithDetail("the answer carries no key for this user")
	}
	if !hmac.Equal(v.macs.of(a).sum(s.userID, s.timestamp), s.mac[:]) {
		return nil, authn.Deny(authn.ErrInvalid, "hmac_signature", "The signature is invalid.")
	}
	if v.opts.ReplayProtection {
		if d := v.firstUse(s); d != nil {
			return nil, d
		}
	}
	return authn.AnswerIdentity(r, a, authn.Identity{Subject: s.userID, Tenant: a.Tenant, Scheme: HMACName,
		TokenType: HMACName}), nil
}

func (v *HMAC) firstUse(s signed) *authn.DenyError {
	if v.opts.Replay == nil {
		return authn.Deny(authn.ErrUnavailable, "hmac_replay_unavailable", "The signature cannot be verified right now.").
			WithDetail("replay protection is on but no replay store is available")
	}
	key := cacheKey("hmac-replay", s.userID, s.timestamp, hex.EncodeToString(s.mac[:]))
	until := s.at + int64(v.opts.Window/time.Second) + 1
	if !v.opts.Replay.FirstUse(key, until) {
		return authn.Deny(authn.ErrInvalid, "hmac_replayed", "The signature was already used.")
	}
	return nil
}

// macMemoSize bounds the keyed MACs an HMAC verifier keeps.
const macMemoSize = 256

// macMemo keeps the keyed HMAC-SHA256 of the answers used most recently, by
// answer, so that a cached answer's request keys nothing. It holds at most
// macMemoSize entries (about 250 bytes each, and the answer, which holds
// only its own fields: DecodeAnswer), replaced first in, first out; an
// answer it holds stays in memory until replaced, so its address is never
// another's. A replaced entry is keyed again for the new answer, so once
// the memo is full a new answer allocates nothing: crypto/hmac cannot be
// keyed again, and keying a new one allocated 11 objects. Not safe for
// concurrent use: a proxy-wasm VM is single-threaded.
type macMemo struct {
	by   map[*authn.Answer]*keyedMAC
	ring [macMemoSize]*authn.Answer
	next int
	h    hash.Hash // the one SHA-256 every kept MAC runs on
	save encoding.BinaryAppender
	load encoding.BinaryUnmarshaler
	pad  [64]byte // keying scratch, cleared after use
}

// keyedMAC is one key's HMAC-SHA256 (RFC 2104): the key padded to SHA-256's
// 64-byte block (hashed first when longer) and XORed with ipad and opad;
// what it keeps is the SHA-256 state after each padded block (as
// crypto/hmac keeps them), so a sum hashes only the message and the inner
// sum, with its message buffer and sums. FuzzKeptMAC checks it against
// crypto/hmac.
type keyedMAC struct {
	m            *macMemo
	inner, outer []byte // SHA-256 states after the ipad and the opad block, in states
	states       [2][sha256StateSize]byte
	msg          []byte
	in, out      [sha256.Size]byte
}

// of returns the MAC keyed with a's HMACKey, keying one when a is not kept.
func (m *macMemo) of(a *authn.Answer) *keyedMAC {
	if k := m.by[a]; k != nil {
		return k
	}
	if m.by == nil {
		m.by = make(map[*authn.Answer]*keyedMAC, macMemoSize)
		m.h = sha256.New()
		m.save, m.load = m.h.(encoding.BinaryAppender), m.h.(encoding.BinaryUnmarshaler)
	}
	var k *keyedMAC
	if old := m.ring[m.next]; old != nil {
		k = m.by[old]
		delete(m.by, old)
	}
	if k == nil {
		k = &keyedMAC{m: m}
		k.inner, k.outer = k.states[0][:0], k.states[1][:0] // one object with its states
	}
	k.key(a.HMACKey)
	m.by[a], m.ring[m.next] = k, a
	m.next = (m.next + 1) % macMemoSize
	return k
}

// sha256StateSize is the length of a saved SHA-256 state (AppendBinary).
const sha256StateSize = 108

// key keys k with key.
func (k *keyedMAC) key(key string) {
	m := k.m
	pad, h := &m.pad, m.h
	clear(pad[:])
	if len(key) > len(pad) {
		h.Reset()
		for rest := key; len(rest) > 0; {
			n := copy(pad[:], rest)
			h.Write(pad[:n])
			rest = rest[n:]
		}
		clear(pad[:])
		h.Sum(pad[:0])
	} else {
		copy(pad[:], key)
	}
	for i := range pad {
		pad[i] ^= 0x36
	}
	h.Reset()
	h.Write(pad[:])
	k.inner = mustState(m.save.AppendBinary(k.inner[:0]))
	for i := range pad {
		pad[i] ^= 0x36 ^ 0x5c
	}
	h.Reset()
	h.Write(pad[:])
	k.outer = mustState(m.save.AppendBinary(k.outer[:0]))
	clear(pad[:])
}

// sum is the MAC of user-id + timestamp. It is valid until the next sum.
func (k *keyedMAC) sum(userID, timestamp string) []byte {
	m := k.m
	k.msg = append(append(k.msg[:0], userID...), timestamp...)
	mustLoad(m.load.UnmarshalBinary(k.inner))
	m.h.Write(k.msg)
	inner := m.h.Sum(k.in[:0])
	mustLoad(m.load.UnmarshalBinary(k.outer))
	m.h.Write(inner)
	return m.h.Sum(k.out[:0])
}

// The standard library saves and restores its own SHA-256 states: an error
// would be a broken invariant, not bad input.
func mustState(b []byte, err error) []byte {
	if err != nil {
		panic("credgate: cannot save a SHA-256 state: " + err.Error())
	}
	return b
}

func mustLoad(err error) {
	if err != nil {
		panic("credgate: cannot restore a SHA-256 state: " + err.Error())
	}
}

// parse reads the three headers and checks the timestamp against now.
func (v *HMAC) parse(r authn.Request, now time.Time) (signed, *authn.DenyError) {
	s, d := parseHMACHeaders(r)
	if d != nil {
		return s, d
	}
	at := time.Unix(s.at, 0)
	switch {
	case now.Sub(at) > v.opts.Window:
		return s, authn.Deny(authn.ErrExpired, "hmac_expired", "The signature timestamp is too old.")
	case at.Sub(now) > v.opts.FutureSkew:
		return s, authn.Deny(authn.ErrInvalid, "hmac_future", "The signature timestamp is in the future.")
	}
	return s, nil
}

// parseHMACHeaders reads user-id, timestamp (unix seconds, digits only) and
// hash-key (64 hex digits).
func parseHMACHeaders(r authn.Request) (signed, *authn.DenyError) {
	var s signed
	n := nouns{scheme: HMACName, noun: "signature"}
	var hash string
	for i, name := range [...]string{UserIDParam, timestampHeader, hashKeyHeader} {
		val, ok := r.Header(name)
		if !ok || val == "" {
			return s, n.missing(name + " header")
		}
		if good, why := credentialValue(val); !good {
			return s, n.malformed(name + ": " + why)
		}
		switch i {
		case 0:
			s.userID = val
		case 1:
			s.timestamp = val
		default:
			hash = val
		}
	}
	// One spelling per instant: "0123" and "123" would sign differently and
	// each be a fresh signature for the replay guard.
	if len(s.timestamp) > 12 || !allDigits(s.timestamp) || (len(s.timestamp) > 1 && s.timestamp[0] == '0') {
		return s, n.malformed("timestamp is not unix seconds")
	}
	s.at, _ = strconv.ParseInt(s.timestamp, 10, 64)
	if len(hash) != 2*sha256.Size {
		return s, n.malformed("hash-key is not 64 hex digits")
	}
	if !decodeHex(s.mac[:], hash) {
		return s, n.malformed("hash-key is not hex")
	}
	return s, nil
}

// decodeHex is hex.DecodeString without its error type, whose message is
// formatted with fmt (which the module does not link otherwise).
// It decodes s into out, which must be exactly half as long.
func decodeHex(out []byte, s string) bool {
	if len(s) != 2*len(out) {
		return false
	}
	for i := range out {
		hi, ok1 := fromHex(s[2*i])
		lo, ok2 := fromHex(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		out[i] = hi<<4 | lo
	}
	return true
}

func fromHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
