// SPDX-License-Identifier: Apache-2.0

package scheme

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/credgate/credgate/plugin/internal/authn"
	"github.com/credgate/credgate/plugin/internal/jsonw"
	"github.com/credgate/credgate/plugin/tokenapi"
)

// Helpers shared by the verifiers that ask the token cluster.

// cacheKey is a key for the proxy's shared data (single-use markers):
// lowercase hex SHA-256 over the scheme name, a NUL, and the parts joined
// with NUL. The raw secret never appears in a key.
func cacheKey(scheme string, parts ...string) string {
	h := sha256.New()
	h.Write([]byte(scheme))
	h.Write([]byte{0})
	for i, p := range parts {
		if i > 0 {
			h.Write([]byte{0})
		}
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// introspection builds an RFC 7662 introspection lookup for a token.
func introspection(r authn.Request, scheme, token, hint string) *authn.Lookup {
	l := authn.LookupFor(r, scheme, token, token)
	l.Method, l.Path, l.ContentType = "POST", tokenapi.PathIntrospect, "application/x-www-form-urlencoded"
	l.Args[0], l.Args[1] = token, hint
	l.Encode = introspectionBody
	return l
}

// introspectionBody is RFC 7662's form, as url.Values.Encode writes it:
// keys sorted, values escaped.
func introspectionBody(dst []byte, l *authn.Lookup) []byte {
	dst = tokenapi.AppendQueryEscape(append(dst, "token="...), l.Args[0])
	return tokenapi.AppendQueryEscape(append(dst, "&token_type_hint="...), l.Args[1])
}

// verification builds a lookup at the JSON verification endpoint. raw is the
// credential the kind's digest is computed over (see tokenapi.Digest); parts
// are every credential part, for the cache key.
func verification(r authn.Request, scheme string, req tokenapi.VerifyRequest, raw string, parts ...string) *authn.Lookup {
	l := authn.LookupFor(r, scheme, raw, parts...)
	l.Method, l.Path, l.ContentType = "POST", tokenapi.PathVerify, "application/json"
	l.Args = [6]string{string(req.Kind), req.Credential, req.UserID, req.DeveloperID, req.PublicKey, req.Domain}
	l.Encode = verificationBody
	return l
}

// verificationBody encodes tokenapi.VerifyRequest's members, in its field
// order.
func verificationBody(dst []byte, l *authn.Lookup) []byte {
	a := &l.Args
	return jsonw.New(dst).String("kind", a[0]).StringOmit("credential", a[1]).
		StringOmit("user_id", a[2]).StringOmit("developer_id", a[3]).
		StringOmit("public_key", a[4]).StringOmit("domain", a[5]).Bytes()
}

// nouns name a scheme's credential in public messages, for example "API key".
type nouns struct {
	scheme string
	noun   string
}

// checkAnswer turns an answer into a denial unless it is active, of the
// expected kind and not past its expiry (a cached or stale answer may
// outlive it). That the answer is for this credential the filter checked
// when it arrived (authn.Lookup.Answers): the cache holds only such
// answers, under the credential's exact key.
func (n nouns) checkAnswer(a *authn.Answer, kind string, now time.Time) *authn.DenyError {
	switch {
	case a == nil:
		return authn.Deny(authn.ErrUnavailable, n.scheme+"_no_answer", "The credentials cannot be verified right now.")
	case !a.Active:
		return n.inactive(a.Reason)
	case a.Kind != kind:
		return authn.Deny(authn.ErrInvalid, n.scheme+"_wrong_kind", "The "+n.noun+" is invalid.").
			WithDetail("the token cluster answered for kind %q, want %q", truncate(a.Kind, 32), kind)
	case !a.ExpiresAt.IsZero() && !now.Before(a.ExpiresAt.Time()):
		return n.inactive(tokenapi.ReasonExpired)
	}
	return nil
}

// AnswerMismatch is the denial of a request whose answer the token cluster
// gave for another credential (authn.Lookup.Answers): a fault of the
// cluster, so the credential cannot be verified right now.
func AnswerMismatch(scheme string) *authn.DenyError {
	return authn.Deny(authn.ErrUnavailable, scheme+"_answer_mismatch", "The credentials cannot be verified right now.").
		WithDetail("the answer is for another credential")
}

// inactive maps a token cluster reason to a denial.
func (n nouns) inactive(reason string) *authn.DenyError {
	kind, code, says, format := authn.ErrInvalid, "_invalid", " is invalid.", "reason %q"
	switch reason {
	case tokenapi.ReasonExpired:
		kind, code, says, format = authn.ErrExpired, "_expired", " expired.", ""
	case tokenapi.ReasonRevoked:
		code, says, format = "_revoked", " was revoked.", ""
	case tokenapi.ReasonConsumed:
		code, says, format = "_consumed", " was already used.", ""
	case tokenapi.ReasonUnknown, tokenapi.ReasonMismatch:
		format = "reason %s"
	}
	d := authn.Deny(kind, n.scheme+code, "The "+n.noun+says)
	if format != "" {
		d = d.WithDetail(format, truncate(reason, 32)) // the known reasons are shorter
	}
	return d
}

// malformed is the denial of a credential that cannot be parsed.
func (n nouns) malformed(what string) *authn.DenyError {
	return authn.Deny(authn.ErrMalformed, n.scheme+"_malformed", "The "+n.noun+" is malformed.").WithDetail("%s", what)
}

// missing is the denial of a credential part that is absent.
func (n nouns) missing(part string) *authn.DenyError {
	return authn.Deny(authn.ErrMissing, n.scheme+"_missing", "The "+part+" is missing.")
}

// headerOrQuery returns a credential from the header of that (lower-case)
// name, else from the query parameter of that exact name.
func headerOrQuery(r authn.Request, name string) (string, bool) {
	if v, ok := r.Header(name); ok {
		return v, true
	}
	return r.Query(name)
}

// credentialValue checks that a credential part is non-empty, bounded and
// free of control characters and spaces.
func credentialValue(v string) (ok bool, why string) {
	switch {
	case v == "":
		return false, "empty value"
	case len(v) > authn.MaxHeaderValue:
		return false, "value too long"
	case strings.ContainsFunc(v, func(c rune) bool { return c <= ' ' || c == 0x7f }):
		return false, "value contains spaces or control characters"
	}
	return true, ""
}

// basicValue returns the decoded payload of an `Authorization: Basic <b64>`
// header. present is false when the header is absent or uses another scheme;
// ok is false when the payload is not valid base64 or too long.
func basicValue(r authn.Request) (payload string, present, ok bool) {
	if h, view := r.(*authn.HeaderRequest); view {
		return h.Basic() // decoded once per request, into the view's buffer
	}
	h, found := r.Header("authorization")
	if !found {
		return "", false, false
	}
	b, present, ok := authn.DecodeBasic(h, nil)
	return string(b), present, ok
}

// AppendCorrelation appends to dst the request's x-request-id and
// traceparent headers, for the filter to forward on its token cluster calls,
// each only when it is sent once and is well formed and bounded
// (tokenapi.ValidRequestID, tokenapi.ValidTraceparent).
func AppendCorrelation(dst [][2]string, r authn.Request) [][2]string {
	if v, ok := r.Header(tokenapi.HeaderRequestID); ok && r.HeaderCount(tokenapi.HeaderRequestID) == 1 && tokenapi.ValidRequestID(v) {
		dst = append(dst, [2]string{tokenapi.HeaderRequestID, v})
	}
	if v, ok := r.Header(tokenapi.HeaderTraceparent); ok && r.HeaderCount(tokenapi.HeaderTraceparent) == 1 && tokenapi.ValidTraceparent(v) {
		dst = append(dst, [2]string{tokenapi.HeaderTraceparent, v})
	}
	return dst
}
