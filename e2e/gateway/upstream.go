// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"
)

// defaultRouteTimeout is Envoy's route timeout when a route sets none.
const defaultRouteTimeout = 15 * time.Second

// upstreams is the router: it picks the bootstrap route for a request the
// filter continued and proxies it to that route's cluster.
type upstreams struct {
	routes    []Route
	rbac      []RBAC
	proxies   map[string]*httputil.ReverseProxy
	transport *http.Transport
}

func newUpstreams(bs *Bootstrap) (*upstreams, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // cluster endpoints are reached directly, as Envoy does
	tr.MaxIdleConnsPerHost = 64
	tr.DisableCompression = true // pass Accept-Encoding through untouched, as Envoy does
	u := &upstreams{routes: bs.Routes, rbac: bs.RBAC, proxies: map[string]*httputil.ReverseProxy{}, transport: tr}
	for name, base := range bs.Clusters {
		target, err := url.Parse(base)
		if err != nil {
			return nil, fmt.Errorf("cluster %q: %w", name, err)
		}
		u.proxies[name] = newProxy(target, tr)
	}
	return u, nil
}

// forwarded are the headers ReverseProxy drops before Rewrite; Envoy passes
// them on (its connection manager sets x-forwarded-proto).
var forwarded = []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"}

func newProxy(target *url.URL, tr http.RoundTripper) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Transport: tr,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host // Envoy keeps the client's authority
			pr.Out.URL.RawQuery = pr.In.URL.RawQuery
			for _, h := range forwarded {
				if v, ok := pr.In.Header[h]; ok {
					pr.Out.Header[h] = v
				}
			}
		},
		ErrorHandler: upstreamError,
	}
}

// upstreamError answers as Envoy's router does when a cluster cannot be
// reached (503) or does not answer in time (504).
func upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	w.Header().Set("Content-Type", "text/plain")
	if errors.Is(err, context.DeadlineExceeded) {
		w.WriteHeader(http.StatusGatewayTimeout)
		_, _ = w.Write([]byte("upstream request timeout"))
		return
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte("upstream connect error or disconnect/reset before headers. reset reason: connection failure"))
}

// ServeHTTP applies the RBAC filters, then routes by the bootstrap's route table, on the path as the filter
// left it; Envoy answers 404 with no body when no route matches.
func (u *upstreams) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rbacDenied(u.rbac, w, r) {
		return
	}
	rt, ok := Lookup(u.routes, r.RequestURI)
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	p, ok := u.proxies[rt.Cluster]
	if !ok {
		upstreamError(w, r, errClusterUnknown)
		return
	}
	timeout := rt.Timeout
	if timeout == 0 {
		timeout = defaultRouteTimeout
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	p.ServeHTTP(w, r.WithContext(ctx))
}
