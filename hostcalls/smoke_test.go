package hostcalls_test

import (
	"context"
	"testing"

	"github.com/credgate/credgate/hostcalls"
)

func TestSmoke(t *testing.T) {
	h := newHost(t, hostcalls.ProfileEnvoy133, hostcalls.NewConfig().WithPluginConfig([]byte("hello")))
	res, err := h.Do(context.Background(), hostcalls.Request{Method: "GET", Path: "/x", Authority: "example", Headers: [][2]string{{"X-Test-Action", "set,read"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	t.Logf("%s", res.Response.Body)
	t.Logf("%+v", h.Logs())
}
