// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"errors"
)

// Owner is a record's tenant, read along with the record by LookupOwned.
type Owner struct {
	// Record is the tenant when Found.
	Record Record
	// Found is false when the record names no tenant, when the tenant does
	// not exist, or when Err is set.
	Found bool
	// Err is a failed read of the tenant (never ErrNotFound); the record
	// itself was read.
	Err error
}

// OwnedLookup is implemented by stores that read a record by lookup key and
// its tenant in one store read (one cache access or one transaction), so that
// a verification reads the store once and sees record and tenant as they
// were at one moment.
type OwnedLookup interface {
	// LookupOwned is Lookup(ctx, c, key) and, when the record names a
	// tenant, Get(ctx, Tenants, rec.Tenant) from the same read.
	LookupOwned(ctx context.Context, c Collection, key string) (Record, Owner, error)
}

// LookupOwned reads the record of c with lookup key key and its tenant: in
// one read when st implements OwnedLookup, else by Lookup and Get.
func LookupOwned(ctx context.Context, st Store, c Collection, key string) (Record, Owner, error) {
	if ol, ok := st.(OwnedLookup); ok {
		return ol.LookupOwned(ctx, c, key)
	}
	return LookupThenGet(ctx, st, c, key)
}

// LookupThenGet is LookupOwned by two calls, for stores without OwnedLookup.
func LookupThenGet(ctx context.Context, st Store, c Collection, key string) (Record, Owner, error) {
	rec, err := st.Lookup(ctx, c, key)
	return withOwner(ctx, st.Get, rec, err)
}

// withOwner completes a read of rec (err its error) with its tenant, read
// through get: no tenant, or one that is not found, is no owner; another
// error is the owner's.
func withOwner(ctx context.Context, get func(context.Context, Collection, string) (Record, error), rec Record, err error) (Record, Owner, error) {
	if err != nil || rec.Tenant == "" {
		return rec, Owner{}, err
	}
	t, err := get(ctx, Tenants, rec.Tenant)
	switch {
	case errors.Is(err, ErrNotFound):
		return rec, Owner{}, nil
	case err != nil:
		return rec, Owner{Err: err}, nil
	}
	return rec, Owner{Record: t, Found: true}, nil
}
