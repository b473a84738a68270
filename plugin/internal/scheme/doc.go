// SPDX-License-Identifier: Apache-2.0

// Package scheme holds one verifier per credential scheme. Each verifier only
// verifies: which schemes a route accepts, in which order, and how a denial
// is answered is the policy package's business.
package scheme
