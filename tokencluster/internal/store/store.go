// SPDX-License-Identifier: Apache-2.0

// Package store defines the token cluster's storage contract. Two backends
// implement it (bbolt and Redis) and both pass the storetest conformance suite.
package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Errors returned by every Store implementation; match them with errors.Is.
var (
	// ErrNotFound: no such record, token or lookup key (expired tokens included).
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a lookup key already points at another record of the same collection.
	ErrConflict = errors.New("store: lookup key taken by another record")
	// ErrInvalid: the value cannot be stored (empty id, missing digest).
	ErrInvalid = errors.New("store: invalid value")
	// ErrConsumed: a single-use token was already consumed.
	ErrConsumed = errors.New("store: token already consumed")
)

// Collection names a set of records.
type Collection string

// Record collections.
const (
	Tenants      Collection = "tenants"
	OAuthClients Collection = "oauth-clients"
	APIKeys      Collection = "api-keys"
	Users        Collection = "users"
	Developers   Collection = "developers"
	Apps         Collection = "apps"
	Domains      Collection = "domains"
	JWTPartners  Collection = "jwt-partners"
	Customers    Collection = "customers"
	SigningKeys  Collection = "signing-keys"
)

// Collections lists every record collection.
var Collections = []Collection{Tenants, OAuthClients, APIKeys, Users, Developers, Apps, Domains,
	JWTPartners, Customers, SigningKeys}

// Record is a durable credential or owner. One shape serves every collection;
// the registry package decides which fields each collection uses.
type Record struct {
	ID        string   `json:"id"`
	Name      string   `json:"name,omitempty"`
	Tenant    string   `json:"tenant,omitempty"`
	Scopes    []string `json:"scopes,omitempty"`
	ExpiresAt int64    `json:"expires_at,omitempty"`
	Revoked   bool     `json:"revoked,omitempty"`
	CreatedAt int64    `json:"created_at"`
	UpdatedAt int64    `json:"updated_at"`
	// SecretDigest is the SHA-256 digest of the primary secret (client secret,
	// API key, user-api-key, domain key, partner secret).
	SecretDigest string `json:"secret_digest,omitempty"`
	// Secret is recoverable secret material: user HMAC key, app secret key, JWT signing key.
	Secret string `json:"secret,omitempty"`
	// PasswordHash is a bcrypt hash (users, customers).
	PasswordHash string `json:"password_hash,omitempty"`
	Username     string `json:"username,omitempty"`
	Domain       string `json:"domain,omitempty"`
	Email        string `json:"email,omitempty"`
	DeveloperID  string `json:"developer_id,omitempty"`
	// Alg is a signing key's JWS algorithm ("" is HS256).
	Alg string `json:"alg,omitempty"`
	// RedirectOrigins are a developer's registered SSO redirect origins.
	RedirectOrigins []string `json:"redirect_origins,omitempty"`
	// Keys are the lookup keys the store indexes for Lookup (unique per collection).
	Keys []string `json:"keys,omitempty"`
}

// Token is an issued, expiring token, stored under the digest of its raw value.
type Token struct {
	Digest       string   `json:"digest"`
	Kind         string   `json:"kind"`
	Subject      string   `json:"subject"`
	Tenant       string   `json:"tenant,omitempty"`
	ClientID     string   `json:"client_id,omitempty"`
	Username     string   `json:"username,omitempty"`
	AppID        string   `json:"app_id,omitempty"`
	Scopes       []string `json:"scopes,omitempty"`
	AccessType   string   `json:"access_type,omitempty"`
	VisitorCode  string   `json:"visitorcode,omitempty"`
	CustomerCode string   `json:"customercode,omitempty"`
	IssuedAt     int64    `json:"iat"`
	// ExpiresAt is unix seconds; Touch moves it for sliding tokens.
	ExpiresAt int64 `json:"exp"`
	// IdleSeconds, when > 0, is the sliding idle window.
	IdleSeconds int64 `json:"idle,omitempty"`
	// Consumed marks a single-use token that was used; it stays until its expiry.
	Consumed bool `json:"consumed,omitempty"`
}

// Revocation is one entry of the revocation log.
type Revocation struct {
	Seq    uint64 `json:"seq"`
	Kind   string `json:"kind"`
	Digest string `json:"digest"`
	At     int64  `json:"at"`
}

// Feed is the extent of the revocation log.
type Feed struct {
	// Epoch names this log: a random value made when the log was created
	// (NewEpoch). A log made again (a store reset, a restore, the feed keys
	// lost in a failover) has another epoch, so that positions in the old one,
	// whose sequence numbers the new one reuses, are recognised as foreign.
	Epoch string
	// Head is the sequence of the newest entry ever appended (0: none).
	Head uint64
	// Floor is the sequence up to which entries were compacted away: the log
	// holds Floor+1 .. Head. A reader whose cursor is below Floor missed entries.
	Floor uint64
	// Tag is the tag (EntryTag) of the entry at Head, "" when the log holds
	// none there (it is empty, or compacted through its head).
	Tag string
	// SinceTag is the tag of the entry at the since of the read that
	// returned this Feed, "" when the log holds none there (since 0, at or
	// below the floor, past the head). It is not part of the extent: only
	// Missed reads it, for a cursor at that since.
	SinceTag string
}

// Cursor is a reader's position in the revocation log: the epoch of the log
// it read, the sequence of the newest entry it saw and that entry's tag
// (EntryTag; "" when the log held no entry there: 0, or compacted). The tag
// tells an entry from another that reuses its sequence number: a failover
// that loses the newest, unreplicated appends hands their numbers to the
// next appends, in the same epoch.
type Cursor struct {
	Epoch string
	Seq   uint64
	Tag   string
	// Untagged marks a cursor of a release without tags ("<epoch>:<seq>"):
	// nothing tells whether its entry is still the one its reader saw, so
	// its reader is behind (once: it then gets a tagged cursor).
	Untagged bool
}

// Behind reports whether a reader that has seen every entry up to c missed
// entries, as far as the extent tells: c is from another epoch (the log was
// made again and may reuse its sequence numbers), some entries after it
// were compacted, it is past the head (the log went backwards), it is at the
// head but names another entry (the head was lost and its sequence reused),
// or it has no tag. Missed checks the entry at c too.
func (f Feed) Behind(c Cursor) bool {
	return c.Untagged || c.Epoch != f.Epoch || c.Seq < f.Floor || c.Seq > f.Head ||
		c.Seq == f.Head && c.Seq > f.Floor && !c.names(f.Tag)
}

// Missed is Behind, and also whether the entry at c, when the log holds it,
// is another than the one c names. f must come from a read at c.Seq (its
// SinceTag is the tag at c.Seq). A cursor at the floor, whose entry was
// compacted, is checked as Behind does.
func (f Feed) Missed(c Cursor) bool {
	return f.Behind(c) || c.Seq > f.Floor && c.Seq < f.Head && !c.names(f.SinceTag)
}

// names reports whether c names the entry whose tag is tag.
func (c Cursor) names(tag string) bool { return c.Tag == tag }

// At returns the cursor at seq in this log, tagged at the head only: the
// extent knows no other entry's tag (CursorAt does).
func (f Feed) At(seq uint64) Cursor {
	c := Cursor{Epoch: f.Epoch, Seq: seq}
	if seq == f.Head {
		c.Tag = f.Tag
	}
	return c
}

// CursorAt returns the cursor of a reader whose newest entry is r.
func (f Feed) CursorAt(r Revocation) Cursor {
	return Cursor{Epoch: f.Epoch, Seq: r.Seq, Tag: EntryTag(f.Epoch, r)}
}

// EntryTag is the tag of entry r in the log of epoch epoch: 16 hexadecimal
// digits of SHA-256 over the epoch, the sequence, the kind and the digest.
// An entry appended again with the same content at the same place has the
// same tag: its readers missed nothing.
func EntryTag(epoch string, r Revocation) string {
	h := sha256.New()
	for _, s := range []string{epoch, strconv.FormatUint(r.Seq, 10), r.Kind, r.Digest} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:8])
}

// String renders c as the opaque cursor callers pass back:
// "<epoch>:<seq>:<tag>" ("<epoch>:<seq>" for an untagged one).
func (c Cursor) String() string {
	s := c.Epoch + ":" + strconv.FormatUint(c.Seq, 10)
	if !c.Untagged {
		s += ":" + c.Tag
	}
	return s
}

// ParseCursor reads a cursor rendered by String. A bare sequence number (a
// cursor of a release without epochs) parses with an empty epoch, which no
// log has, and "<epoch>:<seq>" (a release without tags) parses as
// Untagged: their readers are behind.
func ParseCursor(s string) (Cursor, bool) {
	epoch, rest, found := strings.Cut(s, ":")
	if !found {
		epoch, rest = "", s
	} else if !validEpoch(epoch) {
		return Cursor{}, false
	}
	seq, tag, tagged := strings.Cut(rest, ":")
	if tagged && !validTag(tag) {
		return Cursor{}, false
	}
	n, err := strconv.ParseUint(seq, 10, 64)
	if err != nil {
		return Cursor{}, false
	}
	return Cursor{Epoch: epoch, Seq: n, Tag: tag, Untagged: found && !tagged}, true
}

// validTag accepts what EntryTag makes, or nothing.
func validTag(s string) bool {
	if s == "" {
		return true
	}
	if len(s) != 16 {
		return false
	}
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
			return false
		}
	}
	return true
}

// NewEpoch returns a new random epoch: 16 hexadecimal digits.
func NewEpoch() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("store: no randomness: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// validEpoch accepts what NewEpoch makes and other short names of letters
// and digits, so that a cursor never carries anything else.
func validEpoch(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') {
			return false
		}
	}
	return true
}

// MaxCompact bounds the entries one CompactRevocations call removes, so that
// one call is one short transaction; the next call continues.
const MaxCompact = 10_000

// Store is the storage contract. Times are passed in so that callers control
// the clock; implementations never read the wall clock for expiry decisions.
type Store interface {
	// Put creates or replaces the record c/rec.ID and its lookup keys.
	// It fails with ErrConflict when a key belongs to another record.
	Put(ctx context.Context, c Collection, rec Record) error
	// Get returns record c/id or ErrNotFound.
	Get(ctx context.Context, c Collection, id string) (Record, error)
	// Lookup returns the record of c whose Keys contain key, or ErrNotFound.
	Lookup(ctx context.Context, c Collection, key string) (Record, error)
	// List returns every record of c, in no particular order.
	List(ctx context.Context, c Collection) ([]Record, error)
	// Delete removes record c/id and its keys; ErrNotFound when absent.
	Delete(ctx context.Context, c Collection, id string) error

	// PutToken stores tok until tok.ExpiresAt (now is the caller's clock).
	PutToken(ctx context.Context, tok Token, now time.Time) error
	// GetToken returns the token with this digest, or ErrNotFound when absent or expired at now.
	GetToken(ctx context.Context, digest string, now time.Time) (Token, error)
	// TouchToken extends the expiry of a live token to expiresAt (never
	// shortens it: concurrent slides keep the latest) and returns the token.
	TouchToken(ctx context.Context, digest string, expiresAt int64, now time.Time) (Token, error)
	// ConsumeToken atomically marks a live token consumed and returns it as it
	// was; of concurrent callers exactly one succeeds, the others get
	// ErrConsumed, as does every later caller until the token expires.
	ConsumeToken(ctx context.Context, digest string, now time.Time) (Token, error)
	// DeleteToken removes a token; ErrNotFound when absent or expired.
	DeleteToken(ctx context.Context, digest string, now time.Time) error

	// AppendRevocation adds r to the log and returns its sequence number (1, 2, ...).
	AppendRevocation(ctx context.Context, r Revocation) (uint64, error)
	// Revocations returns up to limit entries with Seq > since, oldest first,
	// and the log's epoch and bounds, the tag of its head and that of the
	// entry at since (Feed.SinceTag), all from one view. limit 0 returns the
	// Feed only. The epoch exists from the first call on (it is made with
	// the log).
	Revocations(ctx context.Context, since uint64, limit int) ([]Revocation, Feed, error)
	// CompactRevocations removes the oldest entries of the log: those with
	// At < before, then as many more as needed to keep at most keep entries
	// (keep 0: no count bound). It removes at most MaxCompact entries per call
	// and returns how many it removed. Sequence numbers never change.
	CompactRevocations(ctx context.Context, before int64, keep int) (int, error)

	// Ping reports whether the backend answers.
	Ping(ctx context.Context) error
	// Close releases the backend.
	Close() error
}

// Validate checks what every backend requires of a record before storing it.
func Validate(c Collection, rec Record) error {
	if c == "" || rec.ID == "" {
		return ErrInvalid
	}
	for _, k := range rec.Keys {
		if k == "" {
			return ErrInvalid
		}
	}
	return nil
}

// Live reports whether tok is still valid at now.
func (t Token) Live(now time.Time) bool {
	return t.ExpiresAt > now.Unix()
}
