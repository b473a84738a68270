// SPDX-License-Identifier: Apache-2.0

//go:build credgate_nowatchdog

package gcguard

// Negative control: no watchdog. Never ship it.
const watchdogEnabled = false
