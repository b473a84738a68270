// SPDX-License-Identifier: Apache-2.0

package scheme

import (
	"strings"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/stamp"
	"github.com/credgate/credgate/plugin/tokenapi"
)

// UserKeyName is the configuration name of the user API key scheme.
const UserKeyName = "user_api_key"

// Header and query parameter names of the user API key scheme (dashes, not
// underscores, in both places).
const (
	UserIDParam      = "user-id"
	UserAPIKeyParam  = "user-api-key"
	DeveloperIDParam = "developer-id"
)

// UserKeyOptions configures the user API key verifier.
type UserKeyOptions struct {
	// RequireDeveloperID requires a developer-id (header or query parameter)
	// that the token cluster matches against the user's.
	RequireDeveloperID bool
}

// UserKey verifies a user-id and user-api-key pair, sent as headers, as
// query parameters, or as HTTP Basic credentials (user-id:user-api-key).
type UserKey struct {
	opts UserKeyOptions
	n    nouns
}

// NewUserKey returns the verifier.
func NewUserKey(opts UserKeyOptions) (*UserKey, error) {
	return &UserKey{opts: opts, n: nouns{scheme: UserKeyName, noun: "user API key"}}, nil
}

// userCredentials is a parsed user-id and user-api-key pair.
type userCredentials struct {
	userID, key, developerID string
	from                     string
}

// Name implements authn.Verifier.
func (*UserKey) Name() string { return UserKeyName }

// Present implements authn.Verifier: a user-api-key header or query parameter,
// a user-id without an HMAC hash-key, or a Basic header that is not a
// domain|key pair.
func (*UserKey) Present(r authn.Request) bool {
	if _, ok := headerOrQuery(r, UserAPIKeyParam); ok {
		return true
	}
	if _, ok := headerOrQuery(r, UserIDParam); ok {
		_, signed := r.Header(hashKeyHeader)
		return !signed
	}
	payload, present, ok := basicValue(r)
	return present && (!ok || strings.Contains(payload, ":"))
}

// Strip implements authn.Verifier.
func (v *UserKey) Strip() authn.Locations {
	loc := authn.Locations{
		Headers: []string{UserIDParam, UserAPIKeyParam, "authorization"},
		Query:   []string{UserIDParam, UserAPIKeyParam},
	}
	if v.opts.RequireDeveloperID {
		loc.Headers = append(loc.Headers, DeveloperIDParam)
		loc.Query = append(loc.Query, DeveloperIDParam)
	}
	return loc
}

// Verify implements authn.Verifier; user API keys need the token cluster.
func (*UserKey) Verify(authn.Request, stamp.Stamp) (*authn.Identity, *authn.DenyError) {
	return nil, remoteOnly(UserKeyName)
}

// Prepare implements authn.RemoteVerifier.
func (v *UserKey) Prepare(r authn.Request, _ stamp.Stamp) (*authn.Lookup, *authn.DenyError) {
	c, d := v.credentials(r)
	if d != nil {
		return nil, d
	}
	req := tokenapi.VerifyRequest{Kind: tokenapi.KindUserAPIKey, UserID: c.userID, Credential: c.key,
		DeveloperID: c.developerID}
	return verification(r, UserKeyName, req, c.key, c.userID, c.key, c.developerID), nil
}

// Complete implements authn.RemoteVerifier: the pair must be active, for this
// user-id, and with the route's developer-id when it requires one.
func (v *UserKey) Complete(r authn.Request, a *authn.Answer, at stamp.Stamp) (*authn.Identity, *authn.DenyError) {
	now := at.Time()
	c, d := v.credentials(r)
	if d != nil {
		return nil, d
	}
	if d := v.n.checkAnswer(a, tokenapi.KindUserAPIKey, now); d != nil {
		return nil, d
	}
	if a.Subject != c.userID {
		return nil, authn.Deny(authn.ErrInvalid, "user_api_key_invalid", "The user API key is invalid.").
			WithDetail("the answer names another user")
	}
	if v.opts.RequireDeveloperID && !authn.SecretEqual(a.DeveloperID, c.developerID) {
		return nil, authn.Deny(authn.ErrInvalid, "user_api_key_developer_mismatch",
			"The developer-id does not match the user.")
	}
	return authn.AnswerIdentity(r, a, authn.Identity{Subject: c.userID, Tenant: a.Tenant, Scheme: UserKeyName,
		TokenType: tokenapi.KindUserAPIKey}), nil
}

// credentials reads the pair from the first location that has any part of
// it: headers, then query parameters, then Basic.
func (v *UserKey) credentials(r authn.Request) (userCredentials, *authn.DenyError) {
	c, d := userPair(r)
	if d != nil {
		return c, d
	}
	for _, part := range []string{c.userID, c.key} {
		if ok, why := credentialValue(part); !ok {
			return c, v.n.malformed(c.from + ": " + why)
		}
	}
	if v.opts.RequireDeveloperID {
		dev, ok := headerOrQuery(r, DeveloperIDParam)
		if !ok || dev == "" {
			return c, authn.Deny(authn.ErrMissing, "user_api_key_developer_missing", "The developer-id is missing.")
		}
		if good, why := credentialValue(dev); !good {
			return c, v.n.malformed("developer-id: " + why)
		}
		c.developerID = dev
	}
	return c, nil
}

// userPair finds the user-id and user-api-key without validating them.
func userPair(r authn.Request) (userCredentials, *authn.DenyError) {
	for _, from := range [...]string{"headers", "query"} {
		get := r.Header // not a table of method values: each would allocate
		if from == "query" {
			get = r.Query
		}
		id, hasID := get(UserIDParam)
		key, hasKey := get(UserAPIKeyParam)
		switch {
		case hasID && hasKey:
			return userCredentials{userID: id, key: key, from: from}, nil
		case hasID:
			return userCredentials{}, authn.Deny(authn.ErrMissing, "user_api_key_missing", "The user-api-key is missing.")
		case hasKey:
			return userCredentials{}, authn.Deny(authn.ErrMissing, "user_api_key_missing", "The user-id is missing.")
		}
	}
	payload, present, ok := basicValue(r)
	if !present {
		return userCredentials{}, authn.Deny(authn.ErrMissing, "user_api_key_missing", "The user-id and user-api-key are missing.")
	}
	id, key, found := parseUserBasic(payload)
	if !ok || !found {
		return userCredentials{}, authn.Deny(authn.ErrMalformed, "user_api_key_malformed",
			"The Basic credentials must be base64(user-id:user-api-key).")
	}
	return userCredentials{userID: id, key: key, from: "basic"}, nil
}

// parseUserBasic splits a decoded Basic payload at the first colon (RFC 7617
// §2: the user-id cannot contain one; the key may). Both parts are non-empty.
func parseUserBasic(payload string) (userID, key string, ok bool) {
	userID, key, ok = strings.Cut(payload, ":")
	return userID, key, ok && userID != "" && key != ""
}
