// SPDX-License-Identifier: Apache-2.0

// Command tokencluster is credgate's token service: it issues OAuth2, session,
// public-key, JWT and SSO credentials, answers the plugin's verification
// calls, and manages credentials through an admin API.
//
//	go run ./tokencluster serve --listen 127.0.0.1:9090 --data ./data/tokencluster.db
//	go run ./tokencluster seed -f tokencluster/testdata/credentials.json
//	go run ./tokencluster admin list users
//
// See tokencluster/README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/credgate/credgate/tokencluster/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
