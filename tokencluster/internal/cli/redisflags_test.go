// SPDX-License-Identifier: Apache-2.0

package cli

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/credgate/credgate/tokencluster/internal/store/redis"
)

func TestRedisFlags(t *testing.T) {
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("s3cret-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    *redis.Options // compared on mode, addrs, db, master, passwords, wait
		wantErr string
	}{
		{name: "bbolt", args: nil},
		{name: "single node", args: []string{"--redis", "redis://127.0.0.1:6379/2"},
			want: &redis.Options{Mode: redis.Single, Addrs: []string{"127.0.0.1:6379"}, DB: 2}},
		{name: "single node, password from env", args: []string{"--redis", "redis://r:6379/0"},
			env:  map[string]string{envRedisPassword: "s3cret-env"},
			want: &redis.Options{Mode: redis.Single, Addrs: []string{"r:6379"}, Password: "s3cret-env"}},
		{name: "sentinel", args: []string{"--redis-sentinel", "a:26379, b:26379,c:26379", "--redis-master", "mymaster",
			"--redis-sentinel-password-file", pwFile},
			want: &redis.Options{Mode: redis.Sentinel, Addrs: []string{"a:26379", "b:26379", "c:26379"}, MasterName: "mymaster",
				SentinelPassword: "s3cret-from-file", WaitReplicas: 1}},
		{name: "cluster, no wait", args: []string{"--redis-cluster", "a:7000,b:7001", "--redis-wait-replicas", "0", "--redis-password-file", pwFile},
			want: &redis.Options{Mode: redis.Cluster, Addrs: []string{"a:7000", "b:7001"}, Password: "s3cret-from-file"}},
		{name: "cluster waits for 2", args: []string{"--redis-cluster", "a:7000", "--redis-wait-replicas", "2"},
			want: &redis.Options{Mode: redis.Cluster, Addrs: []string{"a:7000"}, WaitReplicas: 2}},
		{name: "password in the URL", args: []string{"--redis", "redis://:hunter2@r:6379/0"}, wantErr: "carries a password"},
		{name: "not a redis URL", args: []string{"--redis", "http://r:6379"}, wantErr: "expected redis://"},
		{name: "two deployments", args: []string{"--redis", "redis://r:6379", "--redis-cluster", "a:1"}, wantErr: "one of"},
		{name: "sentinel without master", args: []string{"--redis-sentinel", "a:26379"}, wantErr: "--redis-master"},
		{name: "master without sentinel", args: []string{"--redis-master", "m"}, wantErr: "needs --redis-sentinel"},
		{name: "master with cluster", args: []string{"--redis-cluster", "a:1", "--redis-master", "m"}, wantErr: "needs --redis-sentinel"},
		{name: "bad address", args: []string{"--redis-cluster", "a:7000,,b"}, wantErr: "not host:port"},
		{name: "env and file", args: []string{"--redis-cluster", "a:1", "--redis-password-file", pwFile},
			env: map[string]string{envRedisPassword: "x"}, wantErr: "both set"},
		{name: "missing file", args: []string{"--redis-cluster", "a:1", "--redis-password-file", pwFile + ".none"}, wantErr: "--redis-password-file"},
		{name: "bad wait", args: []string{"--redis-cluster", "a:1", "--redis-wait-replicas", "-2"}, wantErr: "--redis-wait-replicas"},
		{name: "bad wait timeout", args: []string{"--redis-cluster", "a:1", "--redis-wait-timeout", "0s"}, wantErr: "--redis-wait-timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(envRedisPassword, tc.env[envRedisPassword])
			t.Setenv(envSentinelPassword, tc.env[envSentinelPassword])
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			var f storeFlags
			f.register(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			got, err := f.redisOptions()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				for _, secret := range []string{"hunter2", "s3cret"} {
					if strings.Contains(err.Error(), secret) {
						t.Fatalf("error names the password: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (got == nil) != (tc.want == nil) {
				t.Fatalf("options = %+v, want %+v", got, tc.want)
			}
			if got == nil {
				return
			}
			if got.Mode != tc.want.Mode || !slices.Equal(got.Addrs, tc.want.Addrs) || got.DB != tc.want.DB ||
				got.MasterName != tc.want.MasterName || got.Password != tc.want.Password ||
				got.SentinelPassword != tc.want.SentinelPassword || got.WaitReplicas != tc.want.WaitReplicas {
				t.Fatalf("options = %+v\nwant %+v", *got, *tc.want)
			}
		})
	}
}
