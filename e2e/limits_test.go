// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/credgate/credgate/internal/testcluster"
)

// TestGatewayEdgeLimits: the embedded gateway applies envoy.yaml's limits as
// Envoy does before any filter (at most 100 headers and 60 KiB of them), and
// its audit log keeps every denial of a flood, past the host's own buffer of
// 10,000 lines.
func TestGatewayEdgeLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("sends a flood of 11,000 requests")
	}
	root := moduleRoot(t)
	tc := testcluster.Start(t, seedFile)
	t.Setenv("CREDGATE_VERIFY_TOKEN", testcluster.VerifyToken)
	gw, logs := startGateway(t, root, map[string]string{"token_cluster": tc.URL, "upstream_api": startEcho(t)})
	send := func(hs http.Header) int {
		req, _ := http.NewRequest(http.MethodGet, gw.URL()+"/healthz", nil)
		for k, vs := range hs {
			req.Header[k] = vs
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	many := http.Header{}
	for i := 0; i < 101; i++ {
		many.Set(fmt.Sprintf("X-H%d", i), "v")
	}
	if st := send(many); st != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("101 headers: status %d, want 431", st)
	}
	if st := send(http.Header{"X-Big": {strings.Repeat("b", 61<<10)}}); st != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("61 KiB of headers: status %d, want 431", st)
	}
	if st := send(http.Header{"X-Fine": {strings.Repeat("b", 50<<10)}}); st != http.StatusOK {
		t.Errorf("50 KiB of headers: status %d, want 200", st)
	}

	const flood, workers = 11000, 8
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < flood; i += workers {
				resp, err := client.Get(gw.URL() + "/v1/designs/7")
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("status %d, want 401", resp.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := strings.Count(logs.String(), "credgate: deny route=zakeke-designs"); n != flood {
		t.Errorf("the gateway logged %d of %d denials", n, flood)
	}
}
