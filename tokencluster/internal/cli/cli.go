// SPDX-License-Identifier: Apache-2.0

// Package cli implements the tokencluster command: serve, seed and admin.
package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/credgate/credgate/tokencluster/internal/logging"
	"github.com/credgate/credgate/tokencluster/internal/metrics"
	"github.com/credgate/credgate/tokencluster/internal/registry"
	"github.com/credgate/credgate/tokencluster/internal/secret"
	"github.com/credgate/credgate/tokencluster/internal/server"
	"github.com/credgate/credgate/tokencluster/internal/store"
	"github.com/credgate/credgate/tokencluster/internal/store/bbolt"
	"github.com/credgate/credgate/tokencluster/internal/store/redis"
)

const usage = `usage: tokencluster <command> [flags]

commands:
  serve   run the token cluster HTTP service
  seed    load a credentials file into the store (-f credentials.json)
  admin   call the admin API (list, get, create, rotate, revoke, sso)

Run "tokencluster <command> -h" for the flags of a command.
`

// Main runs the command line and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], stderr)
	case "seed":
		err = seed(ctx, args[1:], stdout, stderr)
	case "admin":
		err = admin(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "unknown command %q\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "tokencluster %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// storeFlags are shared by serve and seed.
type storeFlags struct {
	data, redisURL             string
	redisSentinel, redisMaster string
	redisCluster               string
	redisUser, redisPassFile   string
	sentinelUser, sentPassFile string
	redisTLS                   bool
	redisWait                  int
	redisWaitTimeout           time.Duration
	bcryptCost                 int
}

// Environment variables holding Redis passwords (flags would show them in ps).
const (
	envRedisPassword    = "TOKENCLUSTER_REDIS_PASSWORD"
	envSentinelPassword = "TOKENCLUSTER_REDIS_SENTINEL_PASSWORD"
)

func (f *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.data, "data", "./data/tokencluster.db", "bbolt database file (embedded store)")
	fs.StringVar(&f.redisURL, "redis", "", "single Redis node, redis://[user@]host:port/db or rediss:// for TLS (replaces --data)")
	fs.StringVar(&f.redisSentinel, "redis-sentinel", "", "comma-separated Sentinel addresses host:port,... (needs --redis-master; replaces --data)")
	fs.StringVar(&f.redisMaster, "redis-master", "", "master name the sentinels monitor")
	fs.StringVar(&f.redisCluster, "redis-cluster", "", "comma-separated Redis Cluster seed nodes host:port,... (replaces --data)")
	fs.StringVar(&f.redisUser, "redis-username", "", "Redis ACL user of the data nodes (password: env "+envRedisPassword+" or --redis-password-file)")
	fs.StringVar(&f.redisPassFile, "redis-password-file", "", "file holding the data nodes' password (instead of env "+envRedisPassword+")")
	fs.StringVar(&f.sentinelUser, "redis-sentinel-username", "", "ACL user of the sentinels")
	fs.StringVar(&f.sentPassFile, "redis-sentinel-password-file", "", "file holding the sentinels' password (instead of env "+envSentinelPassword+")")
	fs.BoolVar(&f.redisTLS, "redis-tls", false, "TLS to every Redis node and sentinel (system roots)")
	fs.IntVar(&f.redisWait, "redis-wait-replicas", -1, "replicas that must acknowledge each issuance, revocation and credential change before it is answered "+
		"(WAIT); -1: 1 with --redis-sentinel or --redis-cluster, 0 with --redis")
	fs.DurationVar(&f.redisWaitTimeout, "redis-wait-timeout", time.Second, "longest wait for those replicas; past it the write fails")
	fs.IntVar(&f.bcryptCost, "bcrypt-cost", 10, "bcrypt cost of stored passwords (4..31)")
}

func (f *storeFlags) open(ctx context.Context) (store.Store, error) {
	if f.bcryptCost < 4 || f.bcryptCost > 31 {
		return nil, fmt.Errorf("--bcrypt-cost %d outside 4..31", f.bcryptCost)
	}
	o, err := f.redisOptions()
	if err != nil {
		return nil, err
	}
	if o != nil {
		return redis.New(ctx, *o)
	}
	return bbolt.Open(f.data)
}

// redisOptions turns the --redis* flags into store options; nil means bbolt.
func (f *storeFlags) redisOptions() (*redis.Options, error) {
	set := 0
	for _, v := range []string{f.redisURL, f.redisSentinel, f.redisCluster} {
		if v != "" {
			set++
		}
	}
	if set == 0 {
		if f.redisMaster != "" {
			return nil, errors.New("--redis-master needs --redis-sentinel")
		}
		return nil, nil
	}
	if set > 1 {
		return nil, errors.New("use one of --redis, --redis-sentinel and --redis-cluster")
	}
	o := &redis.Options{Username: f.redisUser, SentinelUsername: f.sentinelUser, WaitTimeout: f.redisWaitTimeout}
	var err error
	if o.Password, err = password(envRedisPassword, f.redisPassFile, "--redis-password-file"); err != nil {
		return nil, err
	}
	if o.SentinelPassword, err = password(envSentinelPassword, f.sentPassFile, "--redis-sentinel-password-file"); err != nil {
		return nil, err
	}
	if f.redisTLS {
		o.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	switch {
	case f.redisURL != "":
		if f.redisMaster != "" {
			return nil, errors.New("--redis-master needs --redis-sentinel, not --redis")
		}
		u, err := url.Parse(f.redisURL)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			return nil, errors.New("--redis: expected redis://host:port/db or rediss://host:port/db")
		}
		if _, ok := u.User.Password(); ok {
			return nil, errors.New("--redis: the URL carries a password; set " + envRedisPassword + " or --redis-password-file instead (command lines are visible to every local user)")
		}
		po, err := goredis.ParseURL(f.redisURL)
		if err != nil {
			return nil, errors.New("--redis: expected redis://host:port/db or rediss://host:port/db")
		}
		o.Mode, o.Addrs, o.DB = redis.Single, []string{po.Addr}, po.DB
		if o.Username == "" {
			o.Username = po.Username
		}
		if po.TLSConfig != nil && o.TLS == nil {
			o.TLS = po.TLSConfig
		}
	case f.redisSentinel != "":
		if f.redisMaster == "" {
			return nil, errors.New("--redis-sentinel needs --redis-master (the master name the sentinels monitor)")
		}
		o.Mode, o.MasterName = redis.Sentinel, f.redisMaster
		if o.Addrs, err = addrList("--redis-sentinel", f.redisSentinel); err != nil {
			return nil, err
		}
	default:
		if f.redisMaster != "" {
			return nil, errors.New("--redis-master needs --redis-sentinel, not --redis-cluster")
		}
		o.Mode = redis.Cluster
		if o.Addrs, err = addrList("--redis-cluster", f.redisCluster); err != nil {
			return nil, err
		}
	}
	switch {
	case f.redisWait >= 0:
		o.WaitReplicas = f.redisWait
	case o.Mode == redis.Single:
		o.WaitReplicas = 0
	default:
		o.WaitReplicas = 1
	}
	if f.redisWait < -1 {
		return nil, fmt.Errorf("--redis-wait-replicas %d: want -1 (automatic) or more", f.redisWait)
	}
	if f.redisWaitTimeout <= 0 {
		return nil, errors.New("--redis-wait-timeout must be positive")
	}
	return o, nil
}

// addrList splits a comma-separated host:port list, refusing malformed entries.
func addrList(flagName, v string) ([]string, error) {
	var out []string
	for _, a := range strings.Split(v, ",") {
		a = strings.TrimSpace(a)
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			return nil, fmt.Errorf("%s: %q is not host:port", flagName, a)
		}
		out = append(out, a)
	}
	return out, nil
}

// password reads a secret from a file (trailing newline removed) or the
// environment; both set is ambiguous and refused.
func password(env, file, flagName string) (string, error) {
	fromEnv := os.Getenv(env)
	if file == "" {
		return fromEnv, nil
	}
	if fromEnv != "" {
		return "", fmt.Errorf("%s and %s are both set; use one", flagName, env)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s: %w", flagName, err)
	}
	if len(b) > 4096 {
		return "", fmt.Errorf("%s: file larger than 4 KiB", flagName)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// feedFlags configure the revocation feed (server.Options.Revocation*).
type feedFlags struct {
	maxAge, compactEvery, maxWait, watch time.Duration
	maxEntries                           int
}

func (f *feedFlags) register(fs *flag.FlagSet) {
	fs.DurationVar(&f.maxAge, "revocation-max-age", 24*time.Hour, "compact revocation feed entries older than this (at least --cache-ttl + 15m)")
	fs.IntVar(&f.maxEntries, "revocation-max-entries", server.DefaultRevocationMaxEntries, "keep at most this many revocation feed entries (0: no count bound)")
	fs.DurationVar(&f.compactEvery, "revocation-compact-every", time.Minute, "how often to compact the revocation feed")
	fs.DurationVar(&f.maxWait, "revocation-max-wait", 30*time.Second, "longest hold of a revocation long-poll (GET /v1/revocations?wait=)")
	fs.DurationVar(&f.watch, "revocation-watch", 25*time.Millisecond, "while long-polls are held, how often this replica reads the store's feed (at most 1s)")
}

func (f *feedFlags) entries() int {
	if f.maxEntries == 0 {
		return -1 // no count bound
	}
	return f.maxEntries
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeFlags
	sf.register(fs)
	listen := fs.String("listen", "127.0.0.1:9090", "listen address")
	adminToken := fs.String("admin-token", envOr("TOKENCLUSTER_ADMIN_TOKEN", ""), "admin API bearer token (env TOKENCLUSTER_ADMIN_TOKEN); empty disables the admin API")
	verifyToken := fs.String("verify-token", envOr("TOKENCLUSTER_VERIFY_TOKEN", ""), "bearer token required on /introspect, /v1/verify, /v1/revocations (env TOKENCLUSTER_VERIFY_TOKEN); required")
	openVerify := fs.Bool("insecure-open-verify", false, "DEVELOPMENT ONLY: serve the verification API without caller authentication")
	trustXFF := fs.Bool("trust-forwarded-for", false, "take the client address of the login throttle from the last X-Forwarded-For entry (only behind a proxy that appends it)")
	seedFile := fs.String("seed", "", "credentials file to load before serving")
	jwtTTL := fs.Duration("jwt-ttl", time.Hour, "lifetime of issued JWTs")
	oauthTTL := fs.Duration("oauth-ttl", time.Hour, "lifetime of OAuth2 access tokens")
	cacheTTL := fs.Duration("cache-ttl", time.Minute, "longest cache hint of a positive verification")
	logLevel := fs.String("log-level", "info", "debug (adds one line per request), info (state changes), warn or error")
	metricsAddr := fs.String("metrics-addr", "", "listen address of the operations port: /metrics, /livez, /readyz, unauthenticated (keep it private); empty: no /metrics")
	drainDelay := fs.Duration("drain-delay", 0, "on SIGTERM, how long /readyz fails while the service still serves, before it stops accepting (set it above the readiness probe period)")
	shutdownTimeout := fs.Duration("shutdown-timeout", 10*time.Second, "after the drain delay, how long in-flight requests may take to finish")
	var feed feedFlags
	feed.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	logger := slog.New(logging.NewHandler(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level})))
	// go-redis's own lines (pool and connection trouble) as JSON records too.
	goredis.SetLogger(logging.Redis{L: logger})
	if *openVerify && *verifyToken == "" {
		logger.Warn("INSECURE: the verification API is open to every caller (--insecure-open-verify): anyone who reaches this " +
			"port can read HMAC keys and the HS256 signing keys (and so mint tokens), test any credential and consume SSO tokens; never run this way outside development")
	}
	st, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if mg, ok := st.(interface{ Migrated() int }); ok && mg.Migrated() > 0 {
		logger.Info("redis keys of the earlier layout renamed to hash-tagged keys", "keys", mg.Migrated())
	}
	m := metrics.New()
	srv, err := server.New(server.Options{Store: st, Logger: logger, Metrics: m, Hasher: secret.NewHasher(sf.bcryptCost), AdminToken: *adminToken,
		VerifyToken: *verifyToken, OpenVerify: *openVerify && *verifyToken == "", TrustForwardedFor: *trustXFF, JWTTTL: *jwtTTL, OAuthTTL: *oauthTTL, CacheTTL: *cacheTTL,
		RevocationMaxAge: feed.maxAge, RevocationMaxEntries: feed.entries(), RevocationCompactEvery: feed.compactEvery,
		RevocationMaxWait: feed.maxWait, RevocationWatch: feed.watch})
	if err != nil {
		return err
	}
	if *seedFile != "" {
		if err := loadSeed(ctx, srv.Registry(), *seedFile, logger); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	var opsLn net.Listener
	if *metricsAddr != "" {
		if opsLn, err = net.Listen("tcp", *metricsAddr); err != nil {
			ln.Close()
			return fmt.Errorf("--metrics-addr: %w", err)
		}
	}
	bgCtx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBackground() // before st.Close runs
	go sweep(bgCtx, st, logger)
	go watchStore(bgCtx, srv, 5*time.Second)
	go srv.RunFeed(bgCtx)
	return run(ctx, runConfig{ln: ln, opsLn: opsLn, h: srv, ops: opsHandler(srv, m), drain: srv.Drain,
		drainDelay: *drainDelay, shutdownTimeout: *shutdownTimeout, logger: logger})
}

// opsHandler serves the operations port: /metrics and the health endpoints.
func opsHandler(srv *server.Server, m *metrics.Metrics) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.Handle("GET "+server.PathLive, srv)
	mux.Handle("GET "+server.PathReady, srv)
	return mux
}

// watchStore checks the store every interval so that store up/down
// transitions are logged and tokencluster_store_up is current without probes.
func watchStore(ctx context.Context, srv *server.Server, interval time.Duration) {
	_ = srv.CheckStore(ctx)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = srv.CheckStore(ctx)
		}
	}
}

type runConfig struct {
	ln, opsLn       net.Listener // opsLn may be nil
	h, ops          http.Handler
	drain           func() // makes readiness fail
	drainDelay      time.Duration
	shutdownTimeout time.Duration
	logger          *slog.Logger
	// wait sleeps the drain delay; tests replace it to step through the drain.
	wait func(time.Duration)
}

// run serves until ctx ends, then drains: readiness fails at once (drain),
// the listeners keep serving for drainDelay so that load balancers notice,
// then they stop accepting and in-flight requests get shutdownTimeout to
// finish (http.Server.Shutdown).
func run(ctx context.Context, c runConfig) error {
	newServer := func(h http.Handler) *http.Server {
		return &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
			WriteTimeout: 10 * time.Second, IdleTimeout: 60 * time.Second, MaxHeaderBytes: 32 << 10}
	}
	servers := []*http.Server{newServer(c.h)}
	errc := make(chan error, 2)
	go func() { errc <- servers[0].Serve(c.ln) }()
	c.logger.Info("tokencluster listening", "addr", c.ln.Addr().String())
	if c.opsLn != nil {
		servers = append(servers, newServer(c.ops))
		go func() { errc <- servers[1].Serve(c.opsLn) }()
		c.logger.Info("tokencluster operations listening", "addr", c.opsLn.Addr().String(), "paths", "/metrics /livez /readyz")
	}
	select {
	case err := <-errc:
		for _, hs := range servers {
			_ = hs.Close()
		}
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	c.drain()
	c.logger.Info("tokencluster draining: readiness fails from now on", "drain_delay", c.drainDelay.String())
	if c.wait == nil {
		c.wait = time.Sleep
	}
	c.wait(c.drainDelay)
	c.logger.Info("tokencluster shutting down", "timeout", c.shutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), c.shutdownTimeout)
	defer cancel()
	var errs []error
	for _, hs := range servers {
		if err := hs.Shutdown(sctx); err != nil {
			errs = append(errs, fmt.Errorf("shutdown: %w", err))
		}
	}
	return errors.Join(errs...)
}

// sweep removes expired tokens from stores that need it (bbolt; Redis uses TTLs).
func sweep(ctx context.Context, st store.Store, logger *slog.Logger) {
	sw, ok := st.(interface {
		Sweep(context.Context, time.Time) (int, error)
	})
	if !ok {
		return
	}
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if n, err := sw.Sweep(ctx, now); err != nil {
				logger.Warn("token sweep failed", "err", err)
			} else if n > 0 {
				logger.Debug("expired tokens removed", "count", n)
			}
		}
	}
}

func seed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeFlags
	sf.register(fs)
	file := fs.String("f", "", "credentials file (JSON, see tokencluster/README.md)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" {
		return errors.New("-f credentials.json is required")
	}
	st, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	reg := &registry.Registry{Store: st, Hasher: secret.NewHasher(sf.bcryptCost), Now: time.Now}
	return loadSeed(ctx, reg, *file, slog.New(slog.NewTextHandler(stdout, nil)))
}

func loadSeed(ctx context.Context, reg *registry.Registry, file string, logger *slog.Logger) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	defer f.Close()
	counts, err := reg.LoadSeed(ctx, f)
	if err != nil {
		return err
	}
	args := []any{"file", file}
	for _, c := range store.Collections {
		args = append(args, string(c), counts[c])
	}
	logger.Info("seed loaded", args...)
	return nil
}
