// SPDX-License-Identifier: Apache-2.0

package hostcalls

import (
	"io"
	"net/http"
	"sort"
	"strconv"
)

// Handler returns an http.Handler that runs each request it serves as one
// stream through the plugin, and answers what Envoy would: the plugin's
// local response, or the upstream's response after the plugin's response
// callbacks. A stream the plugin closes aborts the connection; a stream that
// cannot complete (see Do) is answered 500 with the reason.
func (h *Host) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := requestFrom(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		res, err := h.Do(r.Context(), req)
		if err != nil {
			http.Error(w, "hostcalls: "+err.Error(), http.StatusInternalServerError)
			return
		}
		if res.Reset {
			panic(http.ErrAbortHandler)
		}
		for _, p := range res.Response.Headers {
			if p[0] != "content-length" {
				w.Header().Add(p[0], p[1])
			}
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(res.Response.Body)))
		w.WriteHeader(res.Response.Status)
		_, _ = w.Write(res.Response.Body)
	})
}

func requestFrom(r *http.Request) (Request, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return Request{}, err
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return Request{Method: r.Method, Path: r.URL.RequestURI(), Authority: r.Host, Scheme: scheme,
		Headers: pairsOf(r.Header), Body: body, Trailers: pairsOf(r.Trailer), SourceAddress: r.RemoteAddr}, nil
}

// pairsOf lists h in a stable order (Go's header map has none).
func pairsOf(h http.Header) [][2]string {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	var out [][2]string
	for _, k := range names {
		for _, v := range h[k] {
			out = append(out, [2]string{k, v})
		}
	}
	return out
}
