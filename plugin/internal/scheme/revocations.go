// SPDX-License-Identifier: Apache-2.0

package scheme

import (
	"errors"

	"github.com/tidwall/gjson"

	"github.com/credgate/credgate/plugin/tokenapi"
)

// MaxRevocationsAnswer bounds a revocation feed answer.
const MaxRevocationsAnswer = 1 << 20

// Revocations is a decoded answer of the token cluster's revocation feed.
type Revocations struct {
	// Digests are the revoked credentials' digests (tokenapi.Digest).
	Digests []string
	// Next is the cursor to ask from next time.
	Next string
	// Behind says the asked cursor fell behind the compacted part of the
	// feed (or past its head): revocations were missed.
	Behind bool
}

// DecodeRevocations reads a feed answer; anything but a JSON object is an
// error, and entries without a digest are skipped.
func DecodeRevocations(body string) (Revocations, error) {
	if len(body) == 0 || len(body) > MaxRevocationsAnswer || !gjson.Valid(body) {
		return Revocations{}, errors.New("revocation feed answer is not JSON of a bounded size")
	}
	root := gjson.Parse(body)
	if !root.IsObject() {
		return Revocations{}, errors.New("revocation feed answer is not an object")
	}
	out := Revocations{Next: root.Get(tokenapi.FieldNext).String(), Behind: root.Get(tokenapi.FieldBehind).Bool()}
	for _, r := range root.Get(tokenapi.FieldRevocations).Array() {
		if d := r.Get("digest").String(); d != "" {
			out.Digests = append(out.Digests, d)
		}
	}
	return out, nil
}
