// SPDX-License-Identifier: Apache-2.0

package bbolt

import (
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/credgate/credgate/tokencluster/internal/store"
)

// LoseNewestRevocation removes the newest entry of the log and gives its
// sequence number back, as a restore of a copy taken just before that
// append would, keeping the epoch.
func LoseNewestRevocation(t *testing.T, st store.Store) {
	s := st.(*Store)
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRevocations)
		head := b.Sequence()
		if err := b.Delete(seqKey(head)); err != nil {
			return err
		}
		return b.SetSequence(head - 1)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// ReadTxs returns how many read transactions s has started.
func ReadTxs(s *Store) int { return s.db.Stats().TxN }
