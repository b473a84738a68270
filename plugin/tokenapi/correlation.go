// SPDX-License-Identifier: Apache-2.0

package tokenapi

// Correlation headers: the plugin forwards a request's values on its calls
// to the token cluster, which writes them into every log line of the call,
// so that one request can be followed from Envoy to the token cluster.
// Values come from the network, so both sides keep only well-formed,
// bounded ones.
const (
	// HeaderRequestID is Envoy's request id (x-request-id, a UUID).
	HeaderRequestID = "x-request-id"
	// HeaderTraceparent is the W3C Trace Context header.
	HeaderTraceparent = "traceparent"
	// MaxRequestID is the longest x-request-id forwarded or logged.
	MaxRequestID = 128
)

// ValidRequestID accepts 1..MaxRequestID bytes of visible ASCII other than
// '"' and '\' (no space, no control byte): UUIDs and the ids other proxies
// generate pass, nothing can break a log line or a header.
func ValidRequestID(s string) bool {
	if len(s) == 0 || len(s) > MaxRequestID {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// ValidTraceparent accepts a W3C Trace Context traceparent of version 00
// (https://www.w3.org/TR/trace-context/#traceparent-header): "00-", 32
// lowercase hex digits of trace-id, "-", 16 of parent-id, "-", 2 of flags,
// neither id all zeros. Exactly 55 bytes: fields a later version may append
// are not accepted.
func ValidTraceparent(s string) bool {
	if len(s) != 55 || s[0] != '0' || s[1] != '0' || s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return false
	}
	traceID, ok1 := lowerHex(s[3:35])
	parentID, ok2 := lowerHex(s[36:52])
	_, ok3 := lowerHex(s[53:55])
	return ok1 && ok2 && ok3 && traceID && parentID
}

// lowerHex reports whether s is lowercase hex, and whether a digit is not 0.
func lowerHex(s string) (nonzero, ok bool) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '0':
		case '1' <= c && c <= '9', 'a' <= c && c <= 'f':
			nonzero = true
		default:
			return false, false
		}
	}
	return nonzero, true
}
