// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"time"
)

// Ref names one record a verification reads: by id, or, when ID is "", by
// one of its lookup keys.
type Ref struct {
	C   Collection
	ID  string
	Key string
}

// TokenField names the field of a token that holds its owner's id.
type TokenField string

// Token fields that name an owner (their JSON names, which scripts read).
const (
	ByClientID TokenField = "client_id"
	BySubject  TokenField = "subject"
	ByAppID    TokenField = "app_id"
)

// Of returns the field's value in t ("" for an unknown field).
func (f TokenField) Of(t Token) string {
	switch f {
	case ByClientID:
		return t.ClientID
	case BySubject:
		return t.Subject
	case ByAppID:
		return t.AppID
	}
	return ""
}

// TokenOwner says which record owns a token of Kind: the record of C whose
// id is the token's Field.
type TokenOwner struct {
	Kind  string
	C     Collection
	Field TokenField
}

// MaxFollow bounds the records one Read reads.
const MaxFollow = 16

// Read is what one verification reads, answered by one store read (one
// transaction or cache access on bbolt, one script on Redis) through
// ReadView: a token, the records it names, and the records those name.
//
// The store reads the token (when Token is set), the record that owns it
// (the first of Owners of its kind), every record of Refs, and then, for
// every record read, its tenant (Tenants, Record.Tenant) and, for records of
// DeveloperOf, their developer (Developers, Record.DeveloperID), with its
// tenant. The store only reads: every check stays with the caller, which
// asks the View as it would ask the store.
type Read struct {
	// Now is the caller's clock: a token expired at Now is not found.
	Now time.Time
	// Token is the digest of a token to read; "" reads none.
	Token string
	// Consume, when not "", consumes the token in the same read when it is
	// live and of this kind, as ConsumeToken does: of concurrent readers
	// exactly one gets it, the others get ErrConsumed. A token of another
	// kind is read, not consumed.
	Consume string
	// Owners name the owner of a token by its kind.
	Owners []TokenOwner
	// Refs are records to read.
	Refs []Ref
	// DeveloperOf is the collection whose records bring their developer.
	DeveloperOf Collection
}

// OwnerOf returns the record that owns tok, by Owners.
func (r *Read) OwnerOf(tok Token) (Ref, bool) {
	for _, o := range r.Owners {
		if o.Kind == tok.Kind {
			id := o.Field.Of(tok)
			return Ref{C: o.C, ID: id}, id != ""
		}
	}
	return Ref{}, false
}

// next appends to dst the records that rec, of collection c, names.
func (r *Read) next(dst []Ref, c Collection, rec Record) []Ref {
	if rec.Tenant != "" {
		dst = append(dst, Ref{C: Tenants, ID: rec.Tenant})
	}
	if r.DeveloperOf != "" && c == r.DeveloperOf && rec.DeveloperID != "" {
		dst = append(dst, Ref{C: Developers, ID: rec.DeveloperID})
	}
	return dst
}

// Answer is one record a Read read.
type Answer struct {
	// Ref is the record as the read asked for it.
	Ref Ref
	// ID is the id of the record found, when Err is nil (for a Ref by
	// lookup key, the id its key names).
	ID string
	// Record is the record when Err is nil.
	Record Record
	// Err is ErrNotFound or a failed read.
	Err error
}

// Follow runs r's records level by level: tok's owner (when tok is not nil)
// and r.Refs, then the records those name, then theirs, each record once and
// at most MaxFollow of them. fetch reads the records of one level and
// appends their answers to dst, in order; an error from it ends the read.
func (r *Read) Follow(tok *Token, fetch func(dst []Answer, refs []Ref) ([]Answer, error)) ([]Answer, error) {
	var buf [4]Ref
	level := buf[:0]
	if tok != nil {
		if ref, ok := r.OwnerOf(*tok); ok {
			level = append(level, ref)
		}
	}
	level = append(level, r.Refs...)
	out := make([]Answer, 0, 4)
	for len(level) > 0 {
		level = fresh(level, out, MaxFollow-len(out))
		if len(level) == 0 {
			break
		}
		from := len(out)
		var err error
		if out, err = fetch(out, level); err != nil {
			return nil, err
		}
		level = level[len(level):]
		for _, a := range out[from:] {
			if a.Err == nil {
				level = r.next(level, a.Ref.C, a.Record)
			}
		}
	}
	return out, nil
}

// fresh returns the refs of level not already answered in done nor earlier
// in level, at most room of them, in level's array.
func fresh(level []Ref, done []Answer, room int) []Ref {
	out := level[:0]
	for _, ref := range level {
		seen := len(out) >= room
		for _, a := range done {
			seen = seen || a.Ref == ref || ref.Key == "" && a.Ref.C == ref.C && a.Err == nil && a.ID == ref.ID
		}
		for _, o := range out {
			seen = seen || o == ref
		}
		if !seen {
			out = append(out, ref)
		}
	}
	return out
}

// Reader is implemented by stores that answer a Read in one store read.
type Reader interface {
	// ReadView reads what r names, in one read, and returns it as a View
	// (NewView); it fails only when the store cannot be read.
	ReadView(ctx context.Context, r Read) (*View, error)
}

// TokenAnswer is a token a Read read: Err is ErrNotFound (absent or expired
// at Read.Now), ErrConsumed (Read.Consume, already consumed), or a failed
// read. A token consumed by the read is answered as it was before.
type TokenAnswer struct {
	Token Token
	Err   error
}

// View answers, for one verification, what its Read read, as the store
// would: Token, Get and Lookup. What the read did not answer is asked of
// the store (a second read, never a different answer).
type View struct {
	st      Store
	read    Read
	token   *TokenAnswer
	answers []Answer
	calls   int
}

// NewView is the View of r that holds token (nil when r named none) and answers.
func NewView(r Read, token *TokenAnswer, answers []Answer) *View {
	return &View{read: r, token: token, answers: answers}
}

// ReadView reads what r names from st: in one read when st implements
// Reader, else each as the View is asked.
func ReadView(ctx context.Context, st Store, r Read) (*View, error) {
	v := &View{read: r}
	if rd, ok := st.(Reader); ok {
		var err error
		if v, err = rd.ReadView(ctx, r); err != nil {
			return nil, err
		}
	}
	v.st = st
	return v, nil
}

// LazyView is the View of a store without Reader, for wrappers that pass
// Reader on: it asks st for everything.
func LazyView(st Store, r Read) *View { return &View{st: st, read: r} }

// Calls returns how many store calls the View made for what its read did not answer.
func (v *View) Calls() int { return v.calls }

// Token returns the token of the read, as GetToken would, consumed as the
// Read says. It reads the store (and consumes) at most once.
func (v *View) Token(ctx context.Context) (Token, error) {
	if v.read.Token == "" {
		return Token{}, ErrNotFound
	}
	if v.token == nil {
		v.calls++
		tok, err := v.st.GetToken(ctx, v.read.Token, v.read.Now)
		switch {
		case err != nil || v.read.Consume == "" || tok.Kind != v.read.Consume:
		case tok.Consumed:
			tok, err = Token{}, ErrConsumed
		default:
			v.calls++
			tok, err = v.st.ConsumeToken(ctx, v.read.Token, v.read.Now)
		}
		v.token = &TokenAnswer{Token: tok, Err: err}
	}
	return v.token.Token, v.token.Err
}

// Get returns record c/id as the store's Get would.
func (v *View) Get(ctx context.Context, c Collection, id string) (Record, error) {
	for _, a := range v.answers {
		if a.Ref.C != c {
			continue
		}
		if a.Ref.Key == "" && a.Ref.ID == id || a.Err == nil && a.ID == id {
			return a.Record, a.Err
		}
	}
	v.calls++
	return v.st.Get(ctx, c, id)
}

// Lookup returns the record of c with lookup key key as the store's Lookup would.
func (v *View) Lookup(ctx context.Context, c Collection, key string) (Record, error) {
	for _, a := range v.answers {
		if a.Ref.C == c && a.Ref.ID == "" && a.Ref.Key == key {
			return a.Record, a.Err
		}
	}
	v.calls++
	return v.st.Lookup(ctx, c, key)
}

// Owned returns the record of ref and its tenant as LookupOwned does.
func (v *View) Owned(ctx context.Context, ref Ref) (Record, Owner, error) {
	var rec Record
	var err error
	if ref.ID == "" {
		rec, err = v.Lookup(ctx, ref.C, ref.Key)
	} else {
		rec, err = v.Get(ctx, ref.C, ref.ID)
	}
	return withOwner(ctx, v.Get, rec, err)
}
