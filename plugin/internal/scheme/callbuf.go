// SPDX-License-Identifier: Apache-2.0

package scheme

// MaxKeptCallBuffer bounds each call buffer a VM keeps between calls.
const MaxKeptCallBuffer = 4 << 10

// CallBuffers are a VM's scratch for its token cluster calls: what a call
// sends (headers, the stream's correlation headers, the body and the
// encoded headers) and where the host writes the answer (status, body).
// The host copies what is sent before the call returns, and the decoder
// copies what it keeps, so each buffer is reused by the next call. None
// keeps a credential, a verify credential or a key between calls: Sent and
// Decoded zero them, and drop one that grew past MaxKeptCallBuffer.
type CallBuffers struct {
	Headers, Trace [][2]string
	Body, Encoded  []byte
	Status, Answer []byte
}

// Sent clears what a dispatched call sent.
func (b *CallBuffers) Sent() {
	clear(b.Headers)
	clear(b.Trace)
	clear(b.Body)
	clear(b.Encoded)
	b.Body, b.Encoded = bounded(b.Body), bounded(b.Encoded)
}

// Decoded clears the answer read into b.Answer once it was decoded.
func (b *CallBuffers) Decoded() {
	clear(b.Answer) // an hmac_key answer carries the user's key
	b.Answer = bounded(b.Answer)
}

func bounded(buf []byte) []byte {
	if cap(buf) > MaxKeptCallBuffer {
		return nil
	}
	return buf
}
