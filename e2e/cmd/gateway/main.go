// SPDX-License-Identifier: Apache-2.0

// Command gateway serves an Envoy bootstrap's listener with the credgate
// Wasm filter on the embedded hostcalls host, for machines without Envoy.
//
//	go run ./e2e/cmd/gateway --cluster token_cluster=http://127.0.0.1:9090 \
//	    --cluster upstream_api=http://127.0.0.1:8080
//
// It logs a JSON line "gateway listening" with "addr" once it serves, and
// shuts down gracefully on SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/credgate/credgate/e2e/gateway"
	"github.com/credgate/credgate/hostcalls"
)

// clusterFlags collects repeated --cluster name=url flags.
type clusterFlags map[string]string

func (c clusterFlags) String() string { return fmt.Sprint(map[string]string(c)) }

func (c clusterFlags) Set(v string) error {
	name, u, ok := strings.Cut(v, "=")
	if !ok || name == "" || u == "" {
		return fmt.Errorf("want name=http://host:port, got %q", v)
	}
	c[name] = u
	return nil
}

func main() {
	clusters := clusterFlags{}
	o := gateway.Options{Clusters: clusters}
	flag.StringVar(&o.Bootstrap, "bootstrap", "envoy/envoy.yaml", "Envoy bootstrap file")
	flag.StringVar(&o.Wasm, "wasm", "build/credgate.wasm", "credgate Wasm module")
	flag.StringVar(&o.Listen, "listen", "", "listen address (default: the bootstrap's port on 127.0.0.1; a bare port means 127.0.0.1)")
	flag.Var(clusters, "cluster", "cluster endpoint override name=http://host:port (repeatable)")
	flag.IntVar(&o.VMs, "vms", 2, "plugin VMs (Envoy runs one per worker)")
	flag.StringVar(&o.Admin, "admin", gateway.AdminFromBootstrap,
		`admin interface (/stats, /stats/prometheus, /ready) on loopback: "bootstrap" (the bootstrap's admin port), a port, 127.0.0.1:port, or "off"`)
	flag.StringVar(&o.CacheDir, "cache-dir", "build/wazero-cache", "compiled-code cache directory (empty: none)")
	level := flag.String("log-level", "info", "plugin log level: trace, debug, info, warn, error, critical")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	o.Logger = log
	if o.Admin == "off" {
		o.Admin = ""
	}
	var err error
	if o.LogLevel, err = parseLevel(*level); err == nil {
		err = run(o)
	}
	if err != nil {
		log.Error("gateway failed", "err", err)
		os.Exit(1)
	}
}

func parseLevel(s string) (hostcalls.LogLevel, error) {
	for l := hostcalls.LogTrace; l <= hostcalls.LogCritical; l++ {
		if l.String() == s {
			return l, nil
		}
	}
	return 0, fmt.Errorf("unknown log level %q", s)
}

func run(o gateway.Options) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	gw, err := gateway.Start(ctx, o)
	if err != nil {
		return err
	}
	select {
	case err := <-gw.Done():
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = gw.Shutdown(shutdown)
	o.Logger.Info("gateway stopped")
	return err
}
