// SPDX-License-Identifier: Apache-2.0

package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/credgate/credgate/plugin/tokenapi"
)

const adminUsage = `usage: tokencluster admin [flags] <action> <collection> [id]

actions:
  list <collection>            page with --page, --sort, --filter
  get <collection> <id>
  create <collection>          body from --json '{...}' or -f entry.json
  rotate <collection> <id>     new secrets (generated unless given in the body)
  revoke <collection> <id>
  sso <user-id>                one-time login URL (--json '{"redirect_url":"https://..."}')

collections: tenants oauth-clients api-keys users developers apps domains jwt-partners customers signing-keys
`

func admin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("admin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, adminUsage); fs.PrintDefaults() }
	base := fs.String("url", "http://127.0.0.1:9090", "token cluster base URL")
	token := fs.String("admin-token", envOr("TOKENCLUSTER_ADMIN_TOKEN", ""), "admin token (env TOKENCLUSTER_ADMIN_TOKEN)")
	body := fs.String("json", "", "request body (JSON)")
	file := fs.String("f", "", "file holding the request body (JSON)")
	page := fs.String("page", "", "list page, e.g. index~0,size~25")
	sort := fs.String("sort", "", "list sort, e.g. name~asc")
	filter := fs.String("filter", "", "list filter, e.g. name~cn~pea")
	var pos []string // flags may come before or after the positional arguments
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if args = fs.Args(); len(args) == 0 {
			break
		}
		pos, args = append(pos, args[0]), args[1:]
	}
	method, path, err := adminRoute(pos)
	if err != nil {
		fs.Usage()
		return err
	}
	if *file != "" {
		b, err := os.ReadFile(*file)
		if err != nil {
			return err
		}
		*body = string(b)
	}
	q := url.Values{"indent": {"true"}}
	for k, v := range map[string]string{"page": *page, "sort": *sort, "filter": *filter} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return call(ctx, method, strings.TrimSuffix(*base, "/")+path+"?"+q.Encode(), *token, *body, stdout)
}

func adminRoute(args []string) (method, path string, err error) {
	p := tokenapi.PathAdmin + "/"
	switch {
	case len(args) == 2 && args[0] == "list":
		return http.MethodGet, p + args[1], nil
	case len(args) == 2 && args[0] == "create":
		return http.MethodPost, p + args[1], nil
	case len(args) == 2 && args[0] == "sso":
		return http.MethodPost, p + "users/" + url.PathEscape(args[1]) + "/sso", nil
	case len(args) == 3 && args[0] == "get":
		return http.MethodGet, p + args[1] + "/" + url.PathEscape(args[2]), nil
	case len(args) == 3 && args[0] == "rotate":
		return http.MethodPost, p + args[1] + "/" + url.PathEscape(args[2]) + "/rotate", nil
	case len(args) == 3 && args[0] == "revoke":
		return http.MethodDelete, p + args[1] + "/" + url.PathEscape(args[2]), nil
	}
	return "", "", errors.New("bad admin command line")
}

func call(ctx context.Context, method, u, token, body string, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, strings.NewReader(body))
	if err != nil {
		return err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(stdout, io.LimitReader(resp.Body, 16<<20)); err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s", method, req.URL.Path, resp.Status)
	}
	return nil
}
