// SPDX-License-Identifier: Apache-2.0

package server

import (
	"net/http"
	"strconv"

	"github.com/credgate/credgate/plugin/tokenapi"
)

const (
	defaultRevocationLimit = 500
	maxRevocationLimit     = 1000
)

// revocations serves GET /v1/revocations?since=<cursor>&limit=<n>.
func (s *Server) revocations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := defaultRevocationLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxRevocationLimit {
			s.fail(w, r, errBadRequest("limit must be between 1 and 1000"))
			return
		}
		limit = n
	}
	var since uint64
	if v := q.Get("since"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			s.fail(w, r, errBadRequest("since must be a cursor returned as next"))
			return
		}
		since = n
	} else {
		limit = 0 // no cursor: answer the head only, the caller follows from now
	}
	entries, head, err := s.opts.Store.Revocations(r.Context(), since, limit)
	if err != nil {
		s.fail(w, r, errUnavailable(err))
		return
	}
	resp := tokenapi.RevocationsResponse{Revocations: make([]tokenapi.Revocation, 0, len(entries)), CacheTTL: 1}
	// A cursor past the head (the store was reset) restarts at the head.
	next := head
	if len(entries) > 0 {
		next = entries[len(entries)-1].Seq
	}
	for _, e := range entries {
		resp.Revocations = append(resp.Revocations, tokenapi.Revocation{Kind: e.Kind, Digest: e.Digest, At: e.At})
	}
	resp.Next = strconv.FormatUint(next, 10)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, resp, false)
}
