// SPDX-License-Identifier: Apache-2.0

package server

import (
	"net/http"

	"github.com/credgate/credgate/tokencluster/internal/registry"
	"github.com/credgate/credgate/tokencluster/internal/store"
)

// noParams refuses the request when its URL carries any query parameter (the
// admin writes take none); it reports whether it answered.
func (s *Server) noParams(w http.ResponseWriter, r *http.Request) bool {
	if err := checkParams(r.URL.Query()); err != nil {
		s.fail(w, r, err)
		return true
	}
	return false
}

// collection returns the {collection} path value when the registry knows it.
func collection(r *http.Request) (store.Collection, error) {
	c := store.Collection(r.PathValue("collection"))
	if !registry.Known(c) {
		return "", errNotFound("unknown collection " + string(c))
	}
	return c, nil
}

// adminList serves GET /admin/v1/{collection} with Znode paging, sorting and filtering.
func (s *Server) adminList(w http.ResponseWriter, r *http.Request) {
	c, err := collection(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	lq, err := parseListQuery(r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	recs, err := s.opts.Store.List(r.Context(), c)
	if err != nil {
		s.fail(w, r, errUnavailable(err))
		return
	}
	views := make([]registry.View, 0, len(recs))
	for _, rec := range recs {
		views = append(views, registry.ViewOf(c, rec))
	}
	writeJSON(w, http.StatusOK, lq.apply(views), lq.indent)
}

// adminGet serves GET /admin/v1/{collection}/{id}.
func (s *Server) adminGet(w http.ResponseWriter, r *http.Request) {
	c, err := collection(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	if err := checkParams(q, getParams...); err != nil {
		s.fail(w, r, err)
		return
	}
	indent, err := parseIndent(q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rec, err := s.opts.Store.Get(r.Context(), c, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, registry.ViewOf(c, rec), indent)
}

// adminCreate serves POST /admin/v1/{collection} with a registry.Entry body → 201.
func (s *Server) adminCreate(w http.ResponseWriter, r *http.Request) {
	if s.noParams(w, r) {
		return
	}
	c, err := collection(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var e registry.Entry
	if err := decodeJSON(w, r, &e); err != nil {
		s.fail(w, r, err)
		return
	}
	created, err := s.reg.Create(r.Context(), c, e)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.changed(r, c, "create", created.Record.ID)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, created, false)
}

// adminRotate serves POST /admin/v1/{collection}/{id}/rotate; an empty body
// generates new secrets, a registry.Entry body sets them.
func (s *Server) adminRotate(w http.ResponseWriter, r *http.Request) {
	if s.noParams(w, r) {
		return
	}
	c, err := collection(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var e registry.Entry
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &e); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	created, err := s.reg.Rotate(r.Context(), c, r.PathValue("id"), e)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.changed(r, c, "rotate", r.PathValue("id"))
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, created, false)
}

// adminRevoke serves DELETE /admin/v1/{collection}/{id}: marks it revoked
// and publishes its digests on the revocation feed.
func (s *Server) adminRevoke(w http.ResponseWriter, r *http.Request) {
	if s.noParams(w, r) {
		return
	}
	c, err := collection(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	view, err := s.reg.Revoke(r.Context(), c, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.changed(r, c, "revoke", view.ID)
	writeJSON(w, http.StatusOK, view, false)
}
