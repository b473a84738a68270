// SPDX-License-Identifier: Apache-2.0

package metrics_test

import (
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/credgate/credgate/tokencluster/internal/metrics"
	"github.com/credgate/credgate/tokencluster/internal/store"
	"github.com/credgate/credgate/tokencluster/internal/store/bbolt"
	"github.com/credgate/credgate/tokencluster/internal/store/storetest"
)

// TestStoreConformance: the timed wrapper passes the store conformance suite
// (it changes no answer, error class included), and the suite's calls are
// timed while its not-found, conflict and consumed answers count as no error.
func TestStoreConformance(t *testing.T) {
	m := metrics.New()
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := bbolt.Open(filepath.Join(t.TempDir(), "tc.db"))
		if err != nil {
			t.Fatal(err)
		}
		return m.Store(s)
	})
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	timed := map[string]uint64{}
	for _, f := range fams {
		if f.GetName() != "tokencluster_store_operation_duration_seconds" {
			continue
		}
		for _, mt := range f.GetMetric() {
			timed[mt.GetLabel()[0].GetValue()] = mt.GetHistogram().GetSampleCount()
		}
	}
	for _, op := range []string{"put", "get", "lookup", "list", "delete", "put_token", "get_token", "touch_token",
		"consume_token", "delete_token", "append_revocation", "revocations", "read"} {
		if timed[op] == 0 {
			t.Errorf("op %s not timed (%v)", op, timed)
		}
	}
	if got := testutil.ToFloat64(m.StoreErrors.WithLabelValues("get")); got != 0 {
		t.Errorf("store_errors_total{op=get} = %v after only not-found answers, want 0", got)
	}
	if got := testutil.ToFloat64(m.StoreErrors.WithLabelValues("consume_token")); got != 0 {
		t.Errorf("store_errors_total{op=consume_token} = %v, want 0 (consumed is an answer)", got)
	}
}
