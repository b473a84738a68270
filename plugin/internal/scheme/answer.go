// SPDX-License-Identifier: Apache-2.0

package scheme

import (
	"errors"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/credgate/credgate/plugin/internal/authn"
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
// does.
func DecodeAnswer(body []byte) (*authn.Answer, error) {
	if len(body) == 0 || len(body) > MaxAnswer || !gjson.ValidBytes(body) {
		return nil, ErrBadAnswer
	}
	root := gjson.ParseBytes(body)
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
		s.ForEach(func(_, e gjson.Result) bool {
			if e.Type == gjson.String {
				a.Scopes = append(a.Scopes, e.String())
			}
			return true
		})
	} else if s := f[fScope]; s.Type == gjson.String {
		a.Scopes = strings.Fields(s.String())
	}
	a.JoinScopes()
	exp := f[fExpiresAt].Int()
	if exp == 0 {
		exp = f[fExp].Int()
	}
	if exp > 0 {
		a.ExpiresAt = time.Unix(exp, 0)
	}
	if ttl := f[fCacheTTL].Int(); ttl > 0 {
		a.CacheTTL = time.Duration(ttl) * time.Second
	}
	return a, nil
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

func answerField(name string) (int, bool) {
	switch name {
	case tokenapi.FieldActive:
		return fActive, true
	case tokenapi.FieldReason:
		return fReason, true
	case tokenapi.FieldKind:
		return fKind, true
	case tokenapi.FieldSubject:
		return fSubject, true
	case tokenapi.FieldSub:
		return fSub, true
	case tokenapi.FieldTenant:
		return fTenant, true
	case tokenapi.FieldTokenType:
		return fTokenType, true
	case tokenapi.FieldAccessType:
		return fAccessType, true
	case tokenapi.FieldClientID:
		return fClientID, true
	case tokenapi.FieldVisitorCode:
		return fVisitor, true
	case tokenapi.FieldCustomerCode:
		return fCustomer, true
	case tokenapi.FieldDeveloperID:
		return fDeveloperID, true
	case tokenapi.FieldAppID:
		return fAppID, true
	case tokenapi.FieldHMACKey:
		return fHMACKey, true
	case tokenapi.FieldDigest:
		return fDigest, true
	case tokenapi.FieldScopes:
		return fScopes, true
	case tokenapi.FieldScope:
		return fScope, true
	case tokenapi.FieldExpiresAt:
		return fExpiresAt, true
	case tokenapi.FieldExp:
		return fExp, true
	case tokenapi.FieldCacheTTL:
		return fCacheTTL, true
	}
	return 0, false
}
