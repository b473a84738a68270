// SPDX-License-Identifier: Apache-2.0

// Package authn is the vocabulary shared by every part of the plugin that
// decides: the request view a verifier reads, the identity it produces, the
// typed denial it returns, and the constant-time comparison of secrets.
//
// It imports only the standard library, so every verifier and the policy
// engine build and test natively, without Wasm.
package authn
