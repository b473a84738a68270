// SPDX-License-Identifier: Apache-2.0

// Package registry turns declarative credential entries (admin API bodies and
// seed file items) into stored records: it validates fields per collection,
// generates missing secrets, digests or hashes them, and keeps the lookup keys.
package registry

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/credgate/credgate/tokencluster/internal/secret"
	"github.com/credgate/credgate/tokencluster/internal/signing"
	"github.com/credgate/credgate/tokencluster/internal/store"
)

// Errors of the registry; match with errors.Is.
var (
	// ErrInvalid: an entry field is missing, not allowed for the collection, or malformed.
	ErrInvalid = errors.New("invalid entry")
	// ErrExists: a record with this id (or a unique username, email or secret) already exists.
	ErrExists = errors.New("already exists")
	// ErrNotFound: no such record.
	ErrNotFound = store.ErrNotFound
	// ErrUnsupported: the operation does not apply to this collection.
	ErrUnsupported = errors.New("operation not supported for this collection")
)

// FieldError names the entry field that is wrong. It matches ErrInvalid.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Is makes FieldError match ErrInvalid.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

// Entry is one credential or owner, as the admin API accepts it and the seed
// file lists it. Which fields a collection uses is in the table of specs.
// Secret fields hold raw values: they are digested or hashed before storage
// and are generated when left empty.
type Entry struct {
	ID          string   `json:"id,omitempty"`
	Name        string   `json:"name,omitempty"`
	Tenant      string   `json:"tenant,omitempty"`
	Scopes      []string `json:"scopes,omitempty"`
	ExpiresAt   string   `json:"expires_at,omitempty"`
	Secret      string   `json:"secret,omitempty"`
	Password    string   `json:"password,omitempty"`
	Username    string   `json:"username,omitempty"`
	Domain      string   `json:"domain,omitempty"`
	Email       string   `json:"email,omitempty"`
	UserAPIKey  string   `json:"user_api_key,omitempty"`
	UserHashKey string   `json:"user_hash_key,omitempty"`
	DeveloperID string   `json:"developer_id,omitempty"`
	// RedirectOrigins are the origins (scheme://host[:port]) a developer's
	// users may be sent to by one-time SSO links.
	RedirectOrigins []string `json:"redirect_origins,omitempty"`
	// Alg is a signing key's JWS algorithm: HS256 (default), RS256, ES256 or
	// EdDSA. The private key of the last three is generated when Secret is
	// empty (a PEM PRIVATE KEY or base64 PKCS #8 otherwise) and never leaves
	// the token cluster; their public keys are published as a JWKS.
	Alg string `json:"alg,omitempty"`
}

// field names, as in the Entry JSON tags.
const (
	fName, fTenant, fScopes, fExpires = "name", "tenant", "scopes", "expires_at"
	fSecret, fPassword, fUsername     = "secret", "password", "username"
	fDomain, fEmail, fUserAPIKey      = "domain", "email", "user_api_key"
	fUserHashKey, fDeveloperID        = "user_hash_key", "developer_id"
	fRedirectOrigins, fAlg            = "redirect_origins", "alg"
)

// spec says which Entry fields a collection allows and requires, and how its
// secret is kept.
type spec struct {
	prefix   string   // generated id prefix
	allowed  []string // besides id
	required []string
	// secret is how Entry.Secret is kept: "digest", "recoverable" or "" (not allowed).
	secret string
}

var specs = map[store.Collection]spec{
	store.Tenants:      {prefix: "tn_", allowed: []string{fName}},
	store.OAuthClients: {prefix: "cl_", allowed: []string{fName, fTenant, fScopes, fSecret, fDeveloperID}, required: []string{fTenant}, secret: "digest"},
	store.APIKeys:      {prefix: "ak_", allowed: []string{fName, fTenant, fScopes, fExpires, fSecret}, required: []string{fTenant}, secret: "digest"},
	store.Users: {prefix: "us_", allowed: []string{fName, fTenant, fScopes, fUsername, fPassword, fDomain, fUserAPIKey,
		fUserHashKey, fDeveloperID}, required: []string{fTenant}},
	store.Developers:  {prefix: "dv_", allowed: []string{fName, fTenant, fRedirectOrigins}, required: []string{fTenant}},
	store.Apps:        {prefix: "pk_", allowed: []string{fName, fTenant, fScopes, fSecret}, required: []string{fTenant}, secret: "recoverable"},
	store.Domains:     {allowed: []string{fTenant, fScopes, fSecret}, required: []string{fTenant}, secret: "digest"},
	store.JWTPartners: {prefix: "pt_", allowed: []string{fName, fTenant, fScopes, fSecret}, required: []string{fTenant}, secret: "digest"},
	store.Customers: {prefix: "cu_", allowed: []string{fName, fTenant, fScopes, fEmail, fPassword},
		required: []string{fTenant, fEmail}},
	store.SigningKeys: {prefix: "kid_", allowed: []string{fSecret, fAlg}, secret: "recoverable"},
}

// Known reports whether c is a collection the registry manages.
func Known(c store.Collection) bool {
	_, ok := specs[c]
	return ok
}

func (e Entry) values() map[string]bool {
	return map[string]bool{
		fName: e.Name != "", fTenant: e.Tenant != "", fScopes: len(e.Scopes) > 0, fExpires: e.ExpiresAt != "",
		fSecret: e.Secret != "", fPassword: e.Password != "", fUsername: e.Username != "", fDomain: e.Domain != "",
		fEmail: e.Email != "", fUserAPIKey: e.UserAPIKey != "", fUserHashKey: e.UserHashKey != "",
		fDeveloperID: e.DeveloperID != "", fRedirectOrigins: len(e.RedirectOrigins) > 0, fAlg: e.Alg != "",
	}
}

// check validates e against the collection spec.
func check(c store.Collection, e Entry) error {
	sp, ok := specs[c]
	if !ok {
		return &FieldError{Field: "collection", Msg: fmt.Sprintf("unknown collection %q", c)}
	}
	if c == store.Domains && e.ID == "" {
		return &FieldError{Field: "id", Msg: "required (the domain name)"}
	}
	if len(e.ID) > 200 || strings.ContainsAny(e.ID, "/?#% \t\r\n") {
		return &FieldError{Field: "id", Msg: "must be at most 200 characters without / ? # % or spaces"}
	}
	set := e.values()
	for f, present := range set {
		if present && !contains(sp.allowed, f) {
			return &FieldError{Field: f, Msg: fmt.Sprintf("not used by %s", c)}
		}
	}
	for _, f := range sp.required {
		if !set[f] {
			return &FieldError{Field: f, Msg: "required"}
		}
	}
	if c == store.Users && (e.Username != "" || e.Password != "" || e.Domain != "") &&
		(e.Username == "" || e.Password == "" || e.Domain == "") {
		return &FieldError{Field: fUsername, Msg: "username, password and domain go together"}
	}
	if !signing.Valid(e.Alg) {
		return &FieldError{Field: fAlg, Msg: fmt.Sprintf("must be one of %s", strings.Join(signing.Algs, ", "))}
	}
	if c == store.SigningKeys && (e.Alg == "" || e.Alg == signing.HS256) && e.Secret != "" && len(e.Secret) < 32 {
		// RFC 7518 §3.2, and what the plugin accepts from a key set.
		return &FieldError{Field: fSecret, Msg: "an HS256 signing secret must be at least 32 bytes"}
	}
	if e.Alg != "" && e.Alg != signing.HS256 && e.Secret != "" {
		if _, err := signing.Normalize(e.Alg, e.Secret); err != nil {
			return &FieldError{Field: fSecret, Msg: err.Error()}
		}
	}
	if e.ExpiresAt != "" {
		if _, err := time.Parse(time.RFC3339, e.ExpiresAt); err != nil {
			return &FieldError{Field: fExpires, Msg: "must be RFC 3339"}
		}
	}
	for _, s := range e.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n\"") {
			return &FieldError{Field: fScopes, Msg: fmt.Sprintf("invalid scope %q", s)}
		}
	}
	for _, o := range e.RedirectOrigins {
		if c, ok := Origin(o); !ok || c != o {
			return &FieldError{Field: fRedirectOrigins, Msg: fmt.Sprintf("%q is not an origin like https://app.example (lower case, no path)", o)}
		}
	}
	return nil
}

// Origin returns the origin of an absolute http(s) URL, scheme://host[:port]
// in lower case without a default port, and whether rawURL is one without
// user information.
func Origin(rawURL string) (string, bool) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.Opaque != "" {
		return "", false
	}
	// Only ASCII host names (or IP literals): strings.ToLower maps some
	// non-ASCII letters (U+0130) to ASCII ones a browser reads differently.
	for i := 0; i < len(u.Host); i++ {
		if c := u.Host[i]; c >= 0x80 || !(c == '.' || c == '-' || c == ':' || c == '[' || c == ']' ||
			'a' <= c|0x20 && c|0x20 <= 'z' || '0' <= c && c <= '9') {
			return "", false
		}
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return u.Scheme + "://" + host, true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// UserKey is the lookup key of a user by domain and username (case-insensitive username).
func UserKey(domain, username string) string {
	return "u:" + domain + "\n" + strings.ToLower(username)
}

// EmailKey is the lookup key of a customer by email (case-insensitive).
func EmailKey(email string) string { return "e:" + strings.ToLower(email) }

// DigestKey is the lookup key of a record by its secret digest.
func DigestKey(digest string) string { return "d:" + digest }

// DigestKeyOf returns DigestKey(secret.Digest(raw)) and the digest, which
// shares the key's memory (one allocation for both).
func DigestKeyOf(raw string) (key, digest string) {
	var b [2 + 2*sha256.Size]byte
	key = string(secret.AppendDigest(append(b[:0], "d:"...), raw))
	return key, key[2:]
}
