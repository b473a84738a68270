// SPDX-License-Identifier: Apache-2.0

package redis_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credgate/credgate/internal/benchmd"
	"github.com/credgate/credgate/tokencluster/internal/redisserver"
	"github.com/credgate/credgate/tokencluster/internal/store"
	"github.com/credgate/credgate/tokencluster/internal/store/redis"
)

// BenchmarkDurableWrite measures what waiting for a replica costs a
// revocation and an issuance: the same write on a Sentinel-managed master
// with one replica, acknowledged by the master alone (wait=0) or once the
// replica has it (wait=1, the default with Sentinel and Redis Cluster). A
// full run writes the table into BENCHMARKS.md.
//
//	go test -run '^$' -bench DurableWrite ./tokencluster/internal/store/redis/
func BenchmarkDurableWrite(b *testing.B) {
	s := redisserver.StartSentinel(b, 1)
	type row struct {
		op       string
		wait     int
		p50, p99 time.Duration
	}
	rows := map[string]row{} // the last (longest) run of each sub-benchmark
	for _, op := range []string{"revocation", "issuance"} {
		for _, wait := range []int{0, 1} {
			b.Run(fmt.Sprintf("%s/wait=%d", op, wait), func(b *testing.B) {
				o := sentinelOptions(s, fmt.Sprintf("bench%d:", wait))
				o.WaitReplicas = wait
				st, err := redis.New(context.Background(), o)
				if err != nil {
					b.Fatal(err)
				}
				defer st.Close()
				ctx := context.Background()
				lat := make([]time.Duration, 0, b.N)
				for i := 0; b.Loop(); i++ {
					t0 := time.Now()
					if op == "revocation" {
						_, err = st.AppendRevocation(ctx, store.Revocation{Kind: "api_key", Digest: fmt.Sprint("d", i), At: 1})
					} else {
						now := time.Now()
						err = st.PutToken(ctx, store.Token{Digest: fmt.Sprint("t", i), Kind: "oauth2", ExpiresAt: now.Add(time.Hour).Unix()}, now)
					}
					if err != nil {
						b.Fatal(err)
					}
					lat = append(lat, time.Since(t0))
				}
				slices.Sort(lat)
				r := row{op: op, wait: wait, p50: lat[len(lat)/2], p99: lat[len(lat)*99/100]}
				b.ReportMetric(float64(r.p50.Microseconds()), "p50-µs")
				b.ReportMetric(float64(r.p99.Microseconds()), "p99-µs")
				rows[fmt.Sprint(op, wait)] = r
			})
		}
	}
	if len(rows) != 4 {
		return
	}
	var t strings.Builder
	t.WriteString("### Token cluster: latency of a durable write on Redis (Sentinel, master + 1 replica, loopback)\n\n")
	t.WriteString("`go test -run '^$' -bench DurableWrite ./tokencluster/internal/store/redis/`. wait=1 sends WAIT 1 after the write " +
		"on the same connection and answers once the replica has it (the default with Sentinel and Redis Cluster).\n\n")
	t.WriteString("| write | wait=0 p50 | wait=0 p99 | wait=1 p50 | wait=1 p99 |\n|---|---:|---:|---:|---:|\n")
	for _, op := range []string{"revocation", "issuance"} {
		r0, r1 := rows[op+"0"], rows[op+"1"]
		fmt.Fprintf(&t, "| %s | %d µs | %d µs | %d µs | %d µs |\n", op, r0.p50.Microseconds(), r0.p99.Microseconds(),
			r1.p50.Microseconds(), r1.p99.Microseconds())
	}
	fmt.Print("\n" + t.String())
	if err := benchmd.WriteSection("redis-durable-write", t.String()); err != nil {
		b.Fatal(err)
	}
}
