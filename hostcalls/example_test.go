// SPDX-License-Identifier: Apache-2.0

package hostcalls_test

import (
	"context"
	"fmt"
	"log"

	"github.com/credgate/credgate/hostcalls"
)

// This example runs a module the way Envoy 1.39 would: one stream that the
// plugin answers locally, one that it lets through with a changed header.
func Example() {
	ctx := context.Background()
	wasm, err := buildGuest("abitest") // any Proxy-Wasm module, e.g. build/credgate.wasm
	if err != nil {
		log.Fatal(err)
	}

	// Compile once (about a second), then start as many hosts as needed.
	m, err := hostcalls.Compile(ctx, wasm, hostcalls.ProfileEnvoy139)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close(ctx)

	h, err := hostcalls.NewHost(ctx, m, hostcalls.NewConfig().WithVMs(2).WithPluginConfig([]byte("example")))
	if err != nil {
		log.Fatal(err) // includes the plugin's logs, e.g. why it rejected its configuration
	}
	defer h.Close(ctx)

	res, err := h.Do(ctx, hostcalls.Request{Method: "GET", Path: "/orders", Authority: "api.example",
		Headers: [][2]string{{"x-test-action", "local"}}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("local response:", res.LocalResponse.Status, string(res.LocalResponse.Body))

	res, err = h.Do(ctx, hostcalls.Request{Method: "GET", Path: "/orders", Authority: "api.example",
		Headers: [][2]string{{"x-test-action", "set"}}})
	if err != nil {
		log.Fatal(err)
	}
	path, _ := res.UpstreamHeader(":path")
	added, _ := res.UpstreamHeader("x-added")
	fmt.Println("upstream saw:", path, added, "on VM", res.VM)

	// Output:
	// local response: 403 no
	// upstream saw: /rewritten yes on VM 1
}
