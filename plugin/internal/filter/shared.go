// SPDX-License-Identifier: Apache-2.0

package filter

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/tidwall/gjson"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/cache"
)

// The proxy's shared data is visible to every VM (worker) of the plugin.
// It holds three kinds of keys:
//
//	credgate/v1/c/<cache key>  a positive answer, for the other VMs' misses
//	credgate/v1/r/<digest>     the credential was revoked; never serve it
//	credgate/v1/n/<digest>     a single-use value (HMAC signature) was used
//
// Envoy's shared data cannot delete keys, so only positive answers (bounded
// by the number of valid credentials in use), revocations and, when enabled,
// replay markers are written; invalid credentials stay in the per-VM cache.
const (
	sharedAnswer  = "credgate/v1/c/"
	sharedRevoked = "credgate/v1/r/"
	sharedNonce   = "credgate/v1/n/"
)

// sharedEntry is the stored form of a cached answer.
type sharedEntry struct {
	Active      bool     `json:"a"`
	Subject     string   `json:"s,omitempty"`
	Tenant      string   `json:"t,omitempty"`
	Scopes      []string `json:"sc,omitempty"`
	Kind        string   `json:"k,omitempty"`
	TokenType   string   `json:"tt,omitempty"`
	AccessType  string   `json:"at,omitempty"`
	ClientID    string   `json:"ci,omitempty"`
	Visitor     string   `json:"v,omitempty"`
	Customer    string   `json:"cu,omitempty"`
	DeveloperID string   `json:"d,omitempty"`
	AppID       string   `json:"ap,omitempty"`
	HMACKey     string   `json:"hk,omitempty"`
	Expires     int64    `json:"e,omitempty"`
	Fresh       int64    `json:"f"`
	Stale       int64    `json:"st"`
}

func sharedPut(lk *authn.Lookup, e cache.Entry) {
	a := e.Answer
	if a == nil || !a.Active {
		return // only positive answers are shared
	}
	se := sharedEntry{Active: true, Subject: a.Subject, Tenant: a.Tenant, Scopes: a.Scopes, Kind: a.Kind, TokenType: a.TokenType,
		AccessType: a.AccessType, ClientID: a.ClientID, Visitor: a.Visitor, Customer: a.Customer,
		DeveloperID: a.DeveloperID, AppID: a.AppID, HMACKey: a.HMACKey,
		Fresh: e.FreshUntil.UnixMilli(), Stale: e.StaleUntil.UnixMilli()}
	if !a.ExpiresAt.IsZero() {
		se.Expires = a.ExpiresAt.Unix()
	}
	b, err := json.Marshal(se)
	if err != nil {
		return
	}
	// Last writer wins: every writer stores a valid answer.
	if err := proxywasm.SetSharedData(sharedAnswer+lk.CacheKey, b, 0); err != nil {
		proxywasm.LogDebugf("credgate: shared cache write failed: %v", err)
	}
}

// sharedGet returns a fresh positive answer another VM stored, unless the
// credential has been revoked since.
func sharedGet(lk *authn.Lookup, now time.Time) (cache.Entry, bool) {
	b, _, err := proxywasm.GetSharedData(sharedAnswer + lk.CacheKey)
	if err != nil || len(b) == 0 || !gjson.ValidBytes(b) {
		return cache.Entry{}, false
	}
	r := gjson.ParseBytes(b)
	fresh := time.UnixMilli(r.Get("f").Int())
	if !r.Get("a").Bool() || !now.Before(fresh) || revoked(lk.Digest) {
		return cache.Entry{}, false // the entry says what it is; anything else is no answer
	}
	a := &authn.Answer{Active: true, Subject: r.Get("s").String(), Tenant: r.Get("t").String(),
		Kind: r.Get("k").String(), TokenType: r.Get("tt").String(), AccessType: r.Get("at").String(),
		ClientID: r.Get("ci").String(), Visitor: r.Get("v").String(), Customer: r.Get("cu").String(),
		DeveloperID: r.Get("d").String(), AppID: r.Get("ap").String(), HMACKey: r.Get("hk").String()}
	for _, s := range r.Get("sc").Array() {
		a.Scopes = append(a.Scopes, s.String())
	}
	if exp := r.Get("e").Int(); exp > 0 {
		a.ExpiresAt = time.Unix(exp, 0)
	}
	return cache.Entry{Answer: a, FreshUntil: fresh, StaleUntil: time.UnixMilli(r.Get("st").Int())}, true
}

// revoked reports whether the revocation feed named the credential digest.
func revoked(digest string) bool {
	if digest == "" {
		return false
	}
	b, _, err := proxywasm.GetSharedData(sharedRevoked + digest)
	return err == nil && len(b) > 0
}

func markRevoked(digest string) {
	if err := proxywasm.SetSharedData(sharedRevoked+digest, []byte{'1'}, 0); err != nil {
		proxywasm.LogWarnf("credgate: cannot record a revocation in shared data: %v", err)
	}
}

// sharedReplay implements config.ReplayGuard on shared data, so a
// single-use value is accepted once across every VM.
//
// # Notes
//
//   - proxy-wasm cannot create a key atomically: a CAS of 0 overwrites. Two
//     VMs that both find a value unused can both write it. Each writer stores
//     a value unique to it and reads it back, and only the writer whose value
//     survived accepts; two VMs accept the same value only if their reads and
//     writes interleave exactly, within microseconds. Within one VM the check
//     is exact.
type sharedReplay struct{ now func() time.Time }

// FirstUse implements config.ReplayGuard. Any failure counts as a reuse.
func (g sharedReplay) FirstUse(key string, until int64) bool {
	k := sharedNonce + key
	old, cas, err := proxywasm.GetSharedData(k)
	switch {
	case err == nil && len(old) > 0:
		if prev, _, _ := strings.Cut(string(old), " "); atoi(prev) > g.now().Unix() {
			return false
		}
	case err != nil && !errors.Is(err, types.ErrorStatusNotFound):
		return false
	}
	mine := []byte(strconv.FormatInt(until, 10) + " " + writerID())
	if proxywasm.SetSharedData(k, mine, cas) != nil {
		return false
	}
	back, _, err := proxywasm.GetSharedData(k)
	return err == nil && bytes.Equal(back, mine)
}

func atoi(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return math.MaxInt64 // unreadable: treat as still in use
	}
	return n
}

// writerID returns a value unique to this write: a random VM identity and a
// per-VM sequence number.
func writerID() string {
	writer.seq++
	return vmIdentity() + "-" + strconv.FormatUint(writer.seq, 10)
}

// vmIdentity is a random identity of this VM, made on first use.
func vmIdentity() string {
	if writer.id == "" {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			panic("no randomness: " + err.Error())
		}
		writer.id = hex.EncodeToString(b[:])
	}
	return writer.id
}

// writer is this VM's identity for replay markers. A VM is single-threaded.
var writer struct {
	id  string
	seq uint64
}
