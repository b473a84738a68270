// SPDX-License-Identifier: Apache-2.0

package scheme

import (
	"errors"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/stamp"
	"github.com/credgate/credgate/plugin/tokenapi"
)

// MaxAnswer bounds the size of a token cluster answer the plugin will decode.
const MaxAnswer = 64 << 10

// CallStatus is the :status of a token cluster call's response headers
// (the first, as the proxy sets one), or "" without one.
func CallStatus(headers [][2]string) string {
	for _, kv := range headers {
		if kv[0] == ":status" {
			return kv[1]
		}
	}
	return ""
}

// ErrBadAnswer means the token cluster's answer could not be decoded. The
// filter treats it as the cluster being unavailable, never as a success.
var ErrBadAnswer = errors.New("token cluster answer is not valid")

// DecodeAnswer decodes a 200 answer of the introspection or verification
// endpoint. Both shapes map onto one Answer. It reads the object's members
// in one pass; a member named twice counts the first time, as a gjson path
// does. body may be a view of a buffer the caller reuses afterwards: the
// answer keeps none of it (own copies its strings).
func DecodeAnswer(body string) (*authn.Answer, error) {
	if len(body) == 0 || len(body) > MaxAnswer || !gjson.Valid(body) {
		return nil, ErrBadAnswer
	}
	root := gjson.Parse(body)
	if !root.IsObject() {
		return nil, ErrBadAnswer
	}
	var f [answerFields]gjson.Result
	var seen uint32
	root.ForEach(func(k, v gjson.Result) bool {
		if i, ok := answerField(k.Str); ok && seen&(1<<i) == 0 {
			f[i], seen = v, seen|1<<i
		}
		return true
	})
	active := f[fActive]
	if active.Type != gjson.True && active.Type != gjson.False {
		return nil, ErrBadAnswer
	}
	a := &authn.Answer{
		Active:      active.Bool(),
		Reason:      f[fReason].String(),
		Kind:        f[fKind].String(),
		Tenant:      f[fTenant].String(),
		TokenType:   f[fTokenType].String(),
		AccessType:  f[fAccessType].String(),
		ClientID:    f[fClientID].String(),
		Visitor:     f[fVisitor].String(),
		Customer:    f[fCustomer].String(),
		DeveloperID: f[fDeveloperID].String(),
		AppID:       f[fAppID].String(),
		HMACKey:     f[fHMACKey].String(),
		Digest:      f[fDigest].String(),
	}
	for _, s := range [...]gjson.Result{f[fSubject], f[fSub]} {
		if s.Type == gjson.String && s.Str != "" {
			a.Subject = s.Str
			break
		}
	}
	if s := f[fScopes]; s.IsArray() {
		sc := a.ScopeStorage()
		s.ForEach(func(_, e gjson.Result) bool {
			if e.Type == gjson.String {
				sc = append(sc, e.String())
			}
			return true
		})
		if len(sc) > 0 {
			a.Scopes = sc
		}
	} else if s := f[fScope]; s.Type == gjson.String {
		a.Scopes = fields(s.String(), a.ScopeStorage()) // introspection's space-separated form
	}
	own(a)
	exp := f[fExpiresAt].Int()
	if exp == 0 {
		exp = f[fExp].Int()
	}
	if exp > 0 {
		a.ExpiresAt = stamp.Of(time.Unix(exp, 0))
	}
	if ttl := f[fCacheTTL].Int(); ttl > 0 {
		a.CacheTTL = time.Duration(ttl) * time.Second
	}
	return a, nil
}

// fields is strings.Fields(s), into storage (the answer's own scopes) when
// s is ASCII and has few enough fields; otherwise strings.Fields' own slice.
func fields(s string, storage []string) []string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return strings.Fields(s) // Unicode spaces
		}
	}
	out := storage
	for i := 0; i < len(s); {
		for i < len(s) && asciiSpace(s[i]) {
			i++
		}
		start := i
		for i < len(s) && !asciiSpace(s[i]) {
			i++
		}
		if i > start {
			if len(out) == cap(out) {
				return strings.Fields(s)
			}
			out = append(out, s[start:i])
		}
	}
	if len(out) == 0 {
		return strings.Fields(s) // its empty, non-nil slice
	}
	return out
}

func asciiSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// own moves the answer's strings into one string of their own total size:
// they were slices of the whole body, which a cached answer would otherwise
// keep (up to MaxAnswer bytes, whatever the body held besides them). The
// scopes come last, separated by single spaces, so that tail is also their
// joined text (Answer.SetScopeText), made without another string.
func own(a *authn.Answer) {
	fields := [...]*string{&a.Reason, &a.Kind, &a.Subject, &a.Tenant, &a.TokenType, &a.AccessType, &a.ClientID,
		&a.Visitor, &a.Customer, &a.DeveloperID, &a.AppID, &a.HMACKey, &a.Digest}
	n := 0
	for _, f := range fields {
		n += len(*f)
	}
	for i, s := range a.Scopes {
		n += len(s)
		if i > 0 {
			n++
		}
	}
	var b strings.Builder
	b.Grow(n)
	for _, f := range fields {
		b.WriteString(*f)
	}
	for i, s := range a.Scopes {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s)
	}
	all := b.String()
	for _, f := range fields {
		*f, all = all[:len(*f)], all[len(*f):]
	}
	text := all
	for i, s := range a.Scopes {
		if i > 0 {
			all = all[1:]
		}
		a.Scopes[i], all = all[:len(s)], all[len(s):]
	}
	a.SetScopeText(text)
}

// The members DecodeAnswer reads, by index.
const (
	fActive = iota
	fReason
	fKind
	fSubject
	fSub
	fTenant
	fTokenType
	fAccessType
	fClientID
	fVisitor
	fCustomer
	fDeveloperID
	fAppID
	fHMACKey
	fDigest
	fScopes
	fScope
	fExpiresAt
	fExp
	fCacheTTL
	answerFields
)

// answerNames are the members' names, by index.
var answerNames = [answerFields]string{
	fActive: tokenapi.FieldActive, fReason: tokenapi.FieldReason, fKind: tokenapi.FieldKind,
	fSubject: tokenapi.FieldSubject, fSub: tokenapi.FieldSub, fTenant: tokenapi.FieldTenant,
	fTokenType: tokenapi.FieldTokenType, fAccessType: tokenapi.FieldAccessType, fClientID: tokenapi.FieldClientID,
	fVisitor: tokenapi.FieldVisitorCode, fCustomer: tokenapi.FieldCustomerCode, fDeveloperID: tokenapi.FieldDeveloperID,
	fAppID: tokenapi.FieldAppID, fHMACKey: tokenapi.FieldHMACKey, fDigest: tokenapi.FieldDigest,
	fScopes: tokenapi.FieldScopes, fScope: tokenapi.FieldScope, fExpiresAt: tokenapi.FieldExpiresAt,
	fExp: tokenapi.FieldExp, fCacheTTL: tokenapi.FieldCacheTTL,
}

func answerField(name string) (int, bool) {
	for i, n := range answerNames {
		if n == name {
			return i, true
		}
	}
	return 0, false
}
