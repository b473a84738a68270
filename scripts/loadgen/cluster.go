// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/credgate/credgate/plugin/tokenapi"
)

// request returns a factory of one kind's verification request, issuing
// the token first for the kinds that verify an issued token.
func request(client *http.Client, addr, token, kind string) ([]byte, error) {
	base := "http://" + addr
	verify := func(v tokenapi.VerifyRequest) ([]byte, error) {
		body, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		return post(addr, tokenapi.PathVerify, "application/json", token, body), nil
	}
	switch kind {
	case "api_key":
		return verify(tokenapi.VerifyRequest{Kind: "api_key", Credential: "demo-api-key-0001"})
	case "user_api_key":
		return verify(tokenapi.VerifyRequest{Kind: "user_api_key", UserID: "user-42", Credential: "demo-user-api-key", DeveloperID: "dev-1001"})
	case "public_key":
		return verify(tokenapi.VerifyRequest{Kind: "public_key", Credential: "demo-public-key"})
	case "domain_key":
		return verify(tokenapi.VerifyRequest{Kind: "domain_key", Domain: "shop.acme.test", Credential: "demo-domain-key"})
	case "hmac_key":
		return verify(tokenapi.VerifyRequest{Kind: "hmac_key", UserID: "user-42"})
	case "public_key_token":
		ms := time.Now().UnixMilli()
		sum := sha256.Sum256([]byte("demo-secret-key" + strconv.FormatInt(ms, 10)))
		body, _ := json.Marshal(tokenapi.PublicKeyTokenRequest{PublicKey: "demo-public-key", SecretKey: hex.EncodeToString(sum[:]), Timestamp: ms})
		var out tokenapi.PublicKeyTokenResponse
		if err := call(client, base+tokenapi.PathPublicKeyToken, "application/json", "", "", body, &out); err != nil || out.Token == "" {
			return nil, fmt.Errorf("issue a public key token: %v %+v", err, out)
		}
		return verify(tokenapi.VerifyRequest{Kind: "public_key_token", PublicKey: "demo-public-key", Credential: out.Token})
	case "oauth2":
		var out struct {
			AccessToken string `json:"access_token"`
		}
		form := url.Values{"grant_type": {"client_credentials"}}.Encode()
		if err := call(client, base+tokenapi.PathOAuthToken, "application/x-www-form-urlencoded", "demo-client", "demo-client-secret",
			[]byte(form), &out); err != nil || out.AccessToken == "" {
			return nil, fmt.Errorf("issue an OAuth2 token: %v", err)
		}
		return post(addr, tokenapi.PathIntrospect, "application/x-www-form-urlencoded", token,
			[]byte(url.Values{"token": {out.AccessToken}}.Encode())), nil
	}
	return nil, fmt.Errorf("unknown kind %q", kind)
}

// post builds the bytes of one keep-alive POST request.
func post(addr, path, ctype, token string, body []byte) []byte {
	b := fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: credgate-loadgen\r\nContent-Type: %s\r\n"+
		"Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n", path, addr, ctype, token, len(body))
	return append(b, body...)
}

func call(client *http.Client, u, ctype, user, pass string, body []byte, out any) error {
	r, err := http.NewRequestWithContext(context.Background(), http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	r.Header.Set("Content-Type", ctype)
	if user != "" {
		r.SetBasicAuth(user, pass)
	}
	resp, err := client.Do(r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %d: %s", u, resp.StatusCode, b)
	}
	return json.Unmarshal(b, out)
}

func waitHealthy(base string) error {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + tokenapi.PathHealth)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("the token cluster did not become healthy")
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// storeReads sums the cluster's read calls to its store so far, from the
// operations port's /metrics; -1 when it cannot be read.
func storeReads(opsAddr string) float64 {
	resp, err := http.Get("http://" + opsAddr + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return -1
	}
	total, seen := 0.0, false
	for _, line := range strings.Split(string(b), "\n") {
		for _, op := range []string{"read", "get", "lookup", "get_token"} {
			prefix := `tokencluster_store_operation_duration_seconds_count{op="` + op + `"} `
			if v, ok := strings.CutPrefix(line, prefix); ok {
				if n, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					total, seen = total+n, true
				}
			}
		}
	}
	if !seen {
		return -1
	}
	return total
}

// procCPU is the user plus system CPU time of process pid so far.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which is in parentheses and may hold spaces).
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticks
}

// selfCPU is this process's user plus system CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadavg is the first three fields of /proc/loadavg.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
