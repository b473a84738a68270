// SPDX-License-Identifier: Apache-2.0

// Package server is the token cluster's HTTP API: issuance endpoints (public),
// the verification API (internal, called by the plugin) and the admin API.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/credgate/credgate/plugin/tokenapi"
	"github.com/credgate/credgate/tokencluster/internal/logging"
	"github.com/credgate/credgate/tokencluster/internal/metrics"
	"github.com/credgate/credgate/tokencluster/internal/registry"
	"github.com/credgate/credgate/tokencluster/internal/secret"
	"github.com/credgate/credgate/tokencluster/internal/store"
	"github.com/credgate/credgate/tokencluster/internal/throttle"
)

// Options configure a Server. Zero durations take the documented defaults.
type Options struct {
	Store  store.Store
	Hasher *secret.Hasher
	// Now is the clock; default time.Now. Tests pin it.
	Now    func() time.Time
	Logger *slog.Logger
	// AdminToken guards the admin API; empty disables it (403).
	AdminToken string
	// VerifyToken must be presented as a bearer token on the verification
	// API (/introspect, /v1/verify, /v1/revocations, /v1/jwks), which answers
	// secrets such as HMAC keys and the HS256 signing keys and consumes SSO
	// tokens: RFC 7662 expects
	// introspection callers to authenticate. At least MinVerifyToken bytes.
	VerifyToken string
	// OpenVerify leaves the verification API open to anyone who can reach
	// the service: for development only. New refuses an empty VerifyToken
	// unless it is set.
	OpenVerify bool
	// TrustForwardedFor takes the client address of the login throttle from
	// the last X-Forwarded-For entry, as a proxy in front (Envoy with
	// use_remote_address) appends it. Only set it when every client goes
	// through that proxy.
	TrustForwardedFor bool
	// Throttle overrides the login throttle (tests); by default it counts in
	// the store when the store is shared (Redis), else in memory.
	Throttle *throttle.Limiter
	// Issuer is the JWT "iss" claim; default "credgate-tokencluster".
	Issuer string
	// Metrics receives the server's metrics (one Metrics per Server); nil
	// keeps them private (a registry nobody serves).
	Metrics *metrics.Metrics
	// ReadyTimeout bounds the store check of /readyz; default 2s.
	ReadyTimeout time.Duration

	OAuthTTL          time.Duration // default 1h
	SessionIdle       time.Duration // default 15m
	PublicKeyTokenTTL time.Duration // default 1h
	TimestampWindow   time.Duration // accepted clock skew of /tokens timestamps; default 5m
	JWTTTL            time.Duration // default 1h
	SSOTTL            time.Duration // default 5m
	CacheTTL          time.Duration // cache hint of positive answers; default 60s
	SessionCacheTTL   time.Duration // cache hint of session answers; default 30s
	NegativeCacheTTL  time.Duration // cache hint of unknown/mismatch answers; default 5s

	// The revocation feed (see revocations.go and the README's "Revocation
	// feed"). Entries older than RevocationMaxAge are compacted (default
	// 24h; at least CacheTTL + 15m, so no cached answer outlives the entry
	// that revokes it), and the oldest beyond RevocationMaxEntries (default
	// 100000; negative: no count bound). RevocationCompactEvery is how often
	// RunFeed compacts (default 1m). A long-poll is held at most
	// RevocationMaxWait (default 30s); while calls are held, the replica
	// reads the store every RevocationWatch (default 25ms).
	RevocationMaxAge       time.Duration
	RevocationMaxEntries   int
	RevocationCompactEvery time.Duration
	RevocationMaxWait      time.Duration
	RevocationWatch        time.Duration
}

// DefaultRevocationMaxEntries is the default count bound of the revocation feed.
const DefaultRevocationMaxEntries = 100_000

// revocationAgeMargin is what RevocationMaxAge must exceed the longest cache
// hint by: the plugin's default stale window (5m) and clock skew, with room.
const revocationAgeMargin = 15 * time.Minute

// MinVerifyToken is the shortest verify token accepted.
const MinVerifyToken = 24

// Server serves the token cluster API.
type Server struct {
	opts    Options
	reg     *registry.Registry
	mux     *http.ServeMux
	limiter *throttle.Limiter
	m       *metrics.Metrics
	// draining is set once shutdown began: /readyz fails from then on.
	draining atomic.Bool
	// storeState is the last store check: 0 unknown, 1 up, 2 down.
	storeState atomic.Int32
	feed       *feedWatch
	// routeStats (route pattern → *routeStats) and verifications (verifiedKey →
	// *verifiedStats) hold the labelled metrics met so far.
	routeStats, verifications sync.Map
}

// New validates opts and builds the server.
func New(opts Options) (*Server, error) {
	if opts.Store == nil {
		return nil, errors.New("server: Options.Store is required")
	}
	switch {
	case opts.VerifyToken == "" && !opts.OpenVerify:
		return nil, errors.New("the verification API needs a caller credential: set --verify-token (or TOKENCLUSTER_VERIFY_TOKEN), " +
			"or start with --insecure-open-verify for development")
	case opts.VerifyToken != "" && len(opts.VerifyToken) < MinVerifyToken:
		return nil, fmt.Errorf("the verify token must be at least %d characters", MinVerifyToken)
	}
	setDefaults(&opts)
	if err := checkFeedOptions(opts); err != nil {
		return nil, err
	}
	raw := opts.Store
	opts.Store = opts.Metrics.Store(raw)
	if err := opts.Metrics.FeedLength(func(ctx context.Context) (uint64, error) {
		_, f, err := raw.Revocations(ctx, 0, 0)
		return f.Head - f.Floor, err // the entries the feed holds
	}); err != nil {
		return nil, fmt.Errorf("server: Options.Metrics already serves another server: %w", err)
	}
	s := &Server{opts: opts, mux: http.NewServeMux(), limiter: opts.Throttle, m: opts.Metrics,
		reg:  &registry.Registry{Store: opts.Store, Hasher: opts.Hasher, Now: opts.Now},
		feed: newFeedWatch(opts.Store, opts.RevocationWatch)}
	if s.limiter == nil {
		var c throttle.Counters = throttle.NewMemory(opts.Now)
		if shared, ok := raw.(throttle.Counters); ok {
			c = shared // every replica counts the same failures
		}
		s.limiter = &throttle.Limiter{C: c, Account: throttle.DefaultAccount, Source: throttle.DefaultSource}
	}
	s.routes()
	return s, nil
}

func setDefaults(o *Options) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	// Every line of a request carries its x-request-id and traceparent.
	o.Logger = slog.New(logging.NewHandler(o.Logger.Handler()))
	if o.Metrics == nil {
		o.Metrics = metrics.New()
	}
	if o.Hasher == nil {
		o.Hasher = secret.NewHasher(0)
	}
	if o.Issuer == "" {
		o.Issuer = "credgate-tokencluster"
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.OAuthTTL, time.Hour)
	def(&o.SessionIdle, 15*time.Minute)
	def(&o.PublicKeyTokenTTL, time.Hour)
	def(&o.TimestampWindow, 5*time.Minute)
	def(&o.JWTTTL, time.Hour)
	def(&o.SSOTTL, 5*time.Minute)
	def(&o.CacheTTL, time.Minute)
	def(&o.SessionCacheTTL, 30*time.Second)
	def(&o.NegativeCacheTTL, 5*time.Second)
	def(&o.ReadyTimeout, 2*time.Second)
	def(&o.RevocationMaxAge, 24*time.Hour)
	def(&o.RevocationCompactEvery, time.Minute)
	def(&o.RevocationMaxWait, 30*time.Second)
	def(&o.RevocationWatch, 25*time.Millisecond)
	if o.RevocationMaxEntries == 0 {
		o.RevocationMaxEntries = DefaultRevocationMaxEntries
	}
}

// checkFeedOptions refuses a feed configuration that would forget a
// revocation while an answer it revokes may still be cached.
func checkFeedOptions(o Options) error {
	longest := max(o.CacheTTL, o.SessionCacheTTL, o.NegativeCacheTTL)
	switch {
	case o.RevocationMaxAge < longest+revocationAgeMargin:
		return fmt.Errorf("the revocation feed must keep entries longer than any cached answer lives: "+
			"revocation max age %v is below the cache TTL %v + %v", o.RevocationMaxAge, longest, revocationAgeMargin)
	case o.RevocationMaxWait > tokenapi.MaxRevocationsWait*time.Second:
		return fmt.Errorf("revocation max wait %v exceeds %ds", o.RevocationMaxWait, tokenapi.MaxRevocationsWait)
	case o.RevocationWatch > time.Second:
		return fmt.Errorf("revocation watch period %v exceeds 1s: revocations would reach the plugins late", o.RevocationWatch)
	}
	return nil
}

// Registry returns the registry the server uses (for the seed command).
func (s *Server) Registry() *registry.Registry { return s.reg }

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET "+PathLive, s.livez)
	m.HandleFunc("GET "+PathReady, s.readyz)
	m.HandleFunc("GET "+tokenapi.PathHealth, s.readyz) // older name of /readyz
	m.HandleFunc("POST "+tokenapi.PathOAuthToken, s.oauthToken)
	m.HandleFunc("POST "+tokenapi.PathSessionToken, s.sessionCreate)
	m.HandleFunc("DELETE "+tokenapi.PathSessionToken+"/{token}", s.sessionDelete)
	m.HandleFunc("POST "+tokenapi.PathPublicKeyToken, s.publicKeyToken)
	m.HandleFunc("POST "+tokenapi.PathPublicKeyTokenAlias, s.publicKeyToken)
	m.HandleFunc("POST "+tokenapi.PathPartnerToken, s.partnerToken)
	m.HandleFunc("POST "+tokenapi.PathCustomerLogin, s.customerLogin)
	m.HandleFunc("POST "+tokenapi.PathSSO, s.ssoIssue)

	m.Handle("POST "+tokenapi.PathIntrospect, s.verifyAuth(s.introspect))
	m.Handle("POST "+tokenapi.PathVerify, s.verifyAuth(s.verify))
	m.Handle("GET "+tokenapi.PathRevocations, s.verifyAuth(s.revocations))
	m.HandleFunc("GET "+tokenapi.PathJWKS, s.jwksPublic)
	m.Handle("GET "+tokenapi.PathJWKSWithSecrets, s.verifyAuth(s.jwksAll))

	a := tokenapi.PathAdmin
	m.Handle("GET "+a+"/{collection}", s.adminAuth(s.adminList))
	m.Handle("POST "+a+"/{collection}", s.adminAuth(s.adminCreate))
	m.Handle("GET "+a+"/{collection}/{id}", s.adminAuth(s.adminGet))
	m.Handle("DELETE "+a+"/{collection}/{id}", s.adminAuth(s.adminRevoke))
	m.Handle("POST "+a+"/{collection}/{id}/rotate", s.adminAuth(s.adminRotate))
	m.Handle("POST "+a+"/users/{id}/sso", s.adminAuth(s.adminSSO))
}

// ServeHTTP implements http.Handler with panic recovery, request metrics
// and one DEBUG line per request. Every log line of the request carries its
// x-request-id and traceparent when they are well formed.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now() // wall time for the log and metrics only; decisions use s.opts.Now
	if ctx := logging.WithRequest(r.Context(), single(r.Header, "X-Request-Id"), single(r.Header, "Traceparent")); ctx != r.Context() {
		r = r.WithContext(ctx)
	}
	rw := &statusWriter{ResponseWriter: w, req: r, status: http.StatusOK}
	s.m.InFlight.Inc()
	defer func() {
		if p := recover(); p != nil {
			s.opts.Logger.ErrorContext(r.Context(), "handler panic", "pattern", r.Pattern, "panic", p)
			writeError(rw, errInternal)
		}
		s.m.InFlight.Dec()
		// The pattern, never the raw path: paths such as DELETE /v2/token/{token} carry credentials.
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		d := time.Since(start)
		rm := s.routeMetrics(route)
		rm.requests(rw.status).Inc()
		rm.duration.Observe(d.Seconds())
		if s.opts.Logger.Enabled(r.Context(), slog.LevelDebug) {
			s.opts.Logger.DebugContext(r.Context(), "request", "method", r.Method, "pattern", r.Pattern, "status", rw.status,
				"duration_ms", float64(d.Microseconds())/1000)
		}
	}()
	s.mux.ServeHTTP(rw, r) // routes once; rw tells a route's answer from the mux's own 404 or 405
}

// single returns the header's value when it is sent exactly once, else "".
// name is in canonical form, as net/http stores the request's header names.
func single(h http.Header, name string) string {
	if v := h[name]; len(v) == 1 {
		return v[0]
	}
	return ""
}

// routeStats are the request metrics of one route pattern, resolved once
// instead of by label values on every request.
type routeStats struct {
	m        *metrics.Metrics
	route    string
	duration prometheus.Observer
	codes    sync.Map // status code (int) → prometheus.Counter
}

func (s *Server) routeMetrics(route string) *routeStats {
	if v, ok := s.routeStats.Load(route); ok {
		return v.(*routeStats)
	}
	v, _ := s.routeStats.LoadOrStore(route, &routeStats{m: s.m, route: route,
		duration: s.m.RequestDuration.WithLabelValues(route)})
	return v.(*routeStats)
}

func (rs *routeStats) requests(code int) prometheus.Counter {
	if c, ok := rs.codes.Load(code); ok {
		return c.(prometheus.Counter)
	}
	c, _ := rs.codes.LoadOrStore(code, rs.m.Requests.WithLabelValues(rs.route, strconv.Itoa(code)))
	return c.(prometheus.Counter)
}

// statusWriter records the status of the answer for the metrics and the
// log, and turns the mux's plain-text 404 and 405 answers into JSON errors:
// the mux serves those without a pattern, so the request's pattern, read
// at the first write, tells them from a route's answer.
type statusWriter struct {
	http.ResponseWriter
	req    *http.Request
	status int
	state  writerState
}

type writerState uint8

const (
	undecided writerState = iota
	routeAnswer
	muxAnswer   // the mux's own answer: replaced by a JSON error
	muxReplaced // the JSON error is written; the mux's writes are dropped
)

func (w *statusWriter) decide() writerState {
	if w.state == undecided {
		w.state = routeAnswer
		if w.req.Pattern == "" {
			w.state = muxAnswer
		}
	}
	return w.state
}

func (w *statusWriter) WriteHeader(code int) {
	switch w.decide() {
	case routeAnswer:
		w.status = code
		w.ResponseWriter.WriteHeader(code)
	case muxAnswer:
		w.Header().Del("X-Content-Type-Options")
		msg, ecode := "no such endpoint", codeNotFound
		if code == http.StatusMethodNotAllowed {
			msg, ecode = "method not allowed (see the Allow header)", "method_not_allowed"
		}
		w.state = routeAnswer // the JSON error goes through as a route's answer would
		writeError(w, &apiError{Status: code, Code: ecode, Msg: msg})
		w.state = muxReplaced
	}
}

func (w *statusWriter) Write(b []byte) (int, error) {
	switch w.decide() {
	case routeAnswer:
		return w.ResponseWriter.Write(b)
	case muxAnswer:
		w.WriteHeader(http.StatusOK)
	}
	return len(b), nil
}

// Unwrap lets http.ResponseController reach the connection (the feed's
// long-polls move its deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// issued logs and counts one issued credential (never the credential).
func (s *Server) issued(r *http.Request, kind, subject, tenant string) {
	s.m.Issued.WithLabelValues(kind).Inc()
	s.opts.Logger.InfoContext(r.Context(), "credential issued", "kind", kind, "subject", subject, "tenant", tenant)
}

// changed logs and counts one admin change of collection c.
func (s *Server) changed(r *http.Request, c store.Collection, action, id string) {
	s.m.AdminChanges.WithLabelValues(string(c), action).Inc()
	msg := map[string]string{"create": "credential created", "rotate": "credential rotated", "revoke": "credential revoked"}[action]
	s.opts.Logger.InfoContext(r.Context(), msg, "collection", string(c), "id", id)
}

// verified counts one verification answer and the cache hint it served.
func (s *Server) verified(kind string, active bool, reason string, cacheTTL int64) {
	if kind == "" {
		kind = "introspection" // inactive introspections name no kind
	}
	result := "active"
	if !active {
		result = reason
	}
	key := verifiedKey{kind, result, active}
	v, ok := s.verifications.Load(key)
	if !ok {
		v, _ = s.verifications.LoadOrStore(key, &verifiedStats{count: s.m.Verifications.WithLabelValues(kind, result),
			hints: s.m.CacheHints.WithLabelValues(kind, strconv.FormatBool(active))})
	}
	st := v.(*verifiedStats)
	st.count.Inc()
	st.hints.Observe(float64(cacheTTL))
}

// verifiedKey and verifiedStats cache the labelled verification metrics.
type verifiedKey struct {
	kind, result string
	active       bool
}

type verifiedStats struct {
	count prometheus.Counter
	hints prometheus.Observer
}

// verifyAuth requires the verify bearer token when one is configured.
func (s *Server) verifyAuth(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.opts.OpenVerify && !secret.Equal(bearer(r), s.opts.VerifyToken) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tokencluster-verify"`)
			writeError(w, errUnauthorized("verification API needs the verify bearer token"))
			return
		}
		h(w, r)
	})
}

// adminAuth requires the admin bearer token; without one configured the admin API is off.
func (s *Server) adminAuth(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.opts.AdminToken == "" {
			writeError(w, errForbidden("admin API disabled: start the service with --admin-token"))
			return
		}
		err := s.guess(r, "admin", s.source(r), func() error {
			if !secret.Equal(bearer(r), s.opts.AdminToken) {
				return errUnauthorized("admin token required")
			}
			return nil
		})
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tokencluster-admin"`)
			writeError(w, err)
			return
		}
		h(w, r)
	})
}

func bearer(r *http.Request) string {
	const p = "Bearer "
	h := r.Header.Get("Authorization")
	if len(h) > len(p) && (h[:len(p)] == p || h[:len(p)] == "bearer ") {
		return h[len(p):]
	}
	return ""
}
