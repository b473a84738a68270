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
// endpoint. Both shapes map onto one Answer.
func DecodeAnswer(body []byte) (*authn.Answer, error) {
	if len(body) == 0 || len(body) > MaxAnswer || !gjson.ValidBytes(body) {
		return nil, ErrBadAnswer
	}
	root := gjson.ParseBytes(body)
	active := root.Get(tokenapi.FieldActive)
	if !root.IsObject() || (active.Type != gjson.True && active.Type != gjson.False) {
		return nil, ErrBadAnswer
	}
	a := &authn.Answer{
		Active:      active.Bool(),
		Reason:      root.Get(tokenapi.FieldReason).String(),
		Kind:        root.Get(tokenapi.FieldKind).String(),
		Subject:     firstString(root, tokenapi.FieldSubject, tokenapi.FieldSub),
		Tenant:      root.Get(tokenapi.FieldTenant).String(),
		TokenType:   root.Get(tokenapi.FieldTokenType).String(),
		AccessType:  root.Get(tokenapi.FieldAccessType).String(),
		ClientID:    root.Get(tokenapi.FieldClientID).String(),
		Visitor:     root.Get(tokenapi.FieldVisitorCode).String(),
		Customer:    root.Get(tokenapi.FieldCustomerCode).String(),
		DeveloperID: root.Get(tokenapi.FieldDeveloperID).String(),
		AppID:       root.Get(tokenapi.FieldAppID).String(),
		HMACKey:     root.Get(tokenapi.FieldHMACKey).String(),
		Digest:      root.Get(tokenapi.FieldDigest).String(),
	}
	if s := root.Get(tokenapi.FieldScopes); s.IsArray() {
		for _, e := range s.Array() {
			if e.Type == gjson.String {
				a.Scopes = append(a.Scopes, e.String())
			}
		}
	} else if s := root.Get(tokenapi.FieldScope); s.Type == gjson.String {
		a.Scopes = strings.Fields(s.String())
	}
	a.JoinScopes()
	exp := root.Get(tokenapi.FieldExpiresAt).Int()
	if exp == 0 {
		exp = root.Get(tokenapi.FieldExp).Int()
	}
	if exp > 0 {
		a.ExpiresAt = time.Unix(exp, 0)
	}
	if ttl := root.Get(tokenapi.FieldCacheTTL).Int(); ttl > 0 {
		a.CacheTTL = time.Duration(ttl) * time.Second
	}
	return a, nil
}

func firstString(root gjson.Result, names ...string) string {
	for _, n := range names {
		if v := root.Get(n); v.Type == gjson.String && v.String() != "" {
			return v.String()
		}
	}
	return ""
}
