// SPDX-License-Identifier: Apache-2.0

package server

import (
	"context"
	"net/http"
)

// Health endpoints.
const (
	// PathLive answers 200 while the process serves HTTP (Kubernetes livenessProbe).
	PathLive = "/livez"
	// PathReady answers 200 when the store answers within ReadyTimeout and
	// the server is not draining (readinessProbe, Envoy health checks).
	PathReady = "/readyz"
)

func (s *Server) livez(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeError(w, &apiError{Status: http.StatusServiceUnavailable, Code: codeUnavailable, Msg: "draining: shutting down"})
		return
	}
	if err := s.CheckStore(r.Context()); err != nil {
		writeError(w, errUnavailable(err))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}

// Drain makes /readyz fail from now on, so that load balancers and
// Kubernetes stop sending new requests before the listener closes.
func (s *Server) Drain() {
	s.draining.Store(true)
	s.m.Draining.Set(1)
}

// CheckStore pings the store within ReadyTimeout, sets tokencluster_store_up
// and logs the transitions (store up at INFO, store down at ERROR).
func (s *Server) CheckStore(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.ReadyTimeout)
	defer cancel()
	err := s.opts.Store.Ping(ctx)
	state := int32(1)
	if err != nil {
		state = 2
	}
	if prev := s.storeState.Swap(state); prev != state {
		if err != nil {
			s.m.StoreUp.Set(0)
			s.opts.Logger.ErrorContext(ctx, "store down", "err", err)
		} else {
			s.m.StoreUp.Set(1)
			s.opts.Logger.InfoContext(ctx, "store up")
		}
	}
	return err
}
