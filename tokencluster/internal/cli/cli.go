// SPDX-License-Identifier: Apache-2.0

// Package cli implements the tokencluster command: serve, seed and admin.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

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
	data, redisURL string
	bcryptCost     int
}

func (f *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.data, "data", "./data/tokencluster.db", "bbolt database file (embedded store)")
	fs.StringVar(&f.redisURL, "redis", "", "Redis URL, e.g. redis://127.0.0.1:6379/0 (replaces --data)")
	fs.IntVar(&f.bcryptCost, "bcrypt-cost", 10, "bcrypt cost of stored passwords (4..31)")
}

func (f *storeFlags) open(ctx context.Context) (store.Store, error) {
	if f.bcryptCost < 4 || f.bcryptCost > 31 {
		return nil, fmt.Errorf("--bcrypt-cost %d outside 4..31", f.bcryptCost)
	}
	if f.redisURL != "" {
		return redis.Open(ctx, f.redisURL, "")
	}
	return bbolt.Open(f.data)
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
	fs.DurationVar(&f.watch, "revocation-watch", 100*time.Millisecond, "while long-polls are held, how often this replica reads the store's feed (at most 1s)")
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
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	var feed feedFlags
	feed.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	if *openVerify && *verifyToken == "" {
		logger.Warn("INSECURE: the verification API is open to every caller (--insecure-open-verify): anyone who reaches this " +
			"port can read HMAC keys, test any credential and consume SSO tokens; never run this way outside development")
	}
	st, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	srv, err := server.New(server.Options{Store: st, Logger: logger, Hasher: secret.NewHasher(sf.bcryptCost), AdminToken: *adminToken,
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
	sweepCtx, stopSweep := context.WithCancel(ctx)
	defer stopSweep() // before st.Close runs
	go sweep(sweepCtx, st, logger)
	go srv.RunFeed(sweepCtx)
	return run(ctx, ln, srv, logger)
}

// run serves until ctx ends, then shuts down gracefully within 10 seconds.
func run(ctx context.Context, ln net.Listener, h http.Handler, logger *slog.Logger) error {
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, IdleTimeout: 60 * time.Second, MaxHeaderBytes: 32 << 10}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	logger.Info("tokencluster listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("tokencluster shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
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
