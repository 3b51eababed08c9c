// identity-load: the load generator of bench/identity_load.sh (issue 5's load test).
//
//	aether-libp2p-peer identity-load <https://host:port> <sha256:fingerprint> <clients> <seconds> [register]
//
// <clients> goroutines, each with its own Ed25519 did:key and its own keep-alive TLS connection
// (the certificate pinned by its SHA-256 fingerprint, as the CLI pins it), run challenge ->
// attest in a loop for <seconds>. With "register", every flow then registers a new DID document
// (POST /v1/identity/register with a JWS proof), and the DIDs whose registration was
// acknowledged (201) are printed.
// Prints {"requests":..,"errors":..,"rps":..,"p50_ms":..,"p99_ms":..,"flows":..,"error_samples":[..]}.
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

const b58alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

func base58(b []byte) string {
	n := new(big.Int).SetBytes(b)
	var out []byte
	mod := new(big.Int)
	base := big.NewInt(58)
	for n.Sign() > 0 {
		n.DivMod(n, base, mod)
		out = append(out, b58alphabet[mod.Int64()])
	}
	for _, c := range b {
		if c != 0 {
			break
		}
		out = append(out, '1')
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}

func didKey(pub ed25519.PublicKey) string {
	return "did:key:z" + base58(append([]byte{0xed, 0x01}, pub...))
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func pinnedClient(fingerprint string) *http.Client {
	want := strings.TrimPrefix(fingerprint, "sha256:")
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{
			MinVersion:         tls.VersionTLS13,
			InsecureSkipVerify: true, // the chain is self-signed: the pin below is the check
			VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
				if len(raw) == 0 {
					return errors.New("no certificate")
				}
				sum := sha256.Sum256(raw[0])
				if hex.EncodeToString(sum[:]) != want {
					return errors.New("certificate does not match the pinned fingerprint")
				}
				return nil
			},
		},
		MaxIdleConnsPerHost: 1,
		MaxConnsPerHost:     1,
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func postJSON(c *http.Client, url string, body any, auth string) (int, map[string]any, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, err
	}
	var m map[string]any
	_ = json.Unmarshal(data, &m)
	return resp.StatusCode, m, nil
}

// register: a new did:example DID whose document lists the client's key, with a JWS proof
// (did:key documents are generated, not registered). Returns the registered DID.
func registerDoc(c *http.Client, base string, priv ed25519.PrivateKey, pub ed25519.PublicKey, auth string) (string, error) {
	rnd := make([]byte, 12)
	_, _ = rand.Read(rnd)
	did := "did:example:" + hex.EncodeToString(rnd)
	kid := did + "#key-1"
	doc := map[string]any{
		"@context": []string{"https://www.w3.org/ns/did/v1"},
		"id":       did,
		"verificationMethod": []map[string]any{{
			"id": kid, "type": "Ed25519VerificationKey2020", "controller": did,
			"publicKeyMultibase": "z" + base58(append([]byte{0xed, 0x01}, pub...)),
		}},
		"authentication": []string{kid},
	}
	payload, _ := json.Marshal(doc)
	header, _ := json.Marshal(map[string]any{"alg": "EdDSA", "kid": kid, "ver": 1})
	input := b64(header) + "." + b64(payload)
	jws := input + "." + b64(ed25519.Sign(priv, []byte(input)))
	code, m, err := postJSON(c, base+"/v1/identity/register", map[string]any{"did_document": json.RawMessage(payload), "proof": jws}, auth)
	if err != nil {
		return "", err
	}
	if code != 201 {
		return "", fmt.Errorf("register: HTTP %d %v", code, m["detail"])
	}
	return did, nil
}

func identityLoad(base, fingerprint string, clients, seconds int, register bool) {
	var mu sync.Mutex
	var lat []float64
	requests, errs, flows := 0, 0, 0
	var samples []string
	var registered []string
	record := func(d time.Duration, err error) {
		mu.Lock()
		defer mu.Unlock()
		requests++
		if err != nil {
			errs++
			if len(samples) < 5 {
				samples = append(samples, err.Error())
			}
			return
		}
		lat = append(lat, float64(d.Microseconds())/1000.0)
	}
	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pub, priv, _ := ed25519.GenerateKey(rand.Reader)
			did := didKey(pub)
			c := pinnedClient(fingerprint)
			for time.Now().Before(deadline) {
				t0 := time.Now()
				code, m, err := postJSON(c, base+"/v1/identity/challenge", map[string]any{"did": did}, "")
				if err == nil && code != 200 {
					err = fmt.Errorf("challenge: HTTP %d %v", code, m["detail"])
				}
				record(time.Since(t0), err)
				if err != nil {
					continue
				}
				nonce, _ := m["nonce"].(string)
				aud, _ := m["audience"].(string)
				msg := "aether-attest-v1\n" + nonce + "\n" + did + "\n" + aud
				t1 := time.Now()
				code, m, err = postJSON(c, base+"/v1/identity/attest", map[string]any{
					"did": did, "nonce": nonce, "signature": b64(ed25519.Sign(priv, []byte(msg)))}, "")
				if err == nil && (code != 200 || m["token"] == nil) {
					err = fmt.Errorf("attest: HTTP %d %v", code, m["detail"])
				}
				record(time.Since(t1), err)
				if err != nil {
					continue
				}
				if register {
					token, _ := m["token"].(string)
					t2 := time.Now()
					regDid, err := registerDoc(c, base, priv, pub, token)
					record(time.Since(t2), err)
					if err == nil {
						mu.Lock()
						registered = append(registered, regDid)
						mu.Unlock()
					}
				}
				mu.Lock()
				flows++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	sort.Float64s(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return lat[int(p*float64(len(lat)-1)+0.5)]
	}
	printJSON(map[string]any{"ok": errs == 0, "clients": clients, "seconds": elapsed, "requests": requests,
		"errors": errs, "rps": float64(requests) / elapsed, "flows": flows, "p50_ms": pct(0.5), "p99_ms": pct(0.99),
		"error_samples": samples, "registered": registered})
}

// identity-token: a Bearer token for schemathesis (tests/interop/schemathesis.sh).
//
//	aether-libp2p-peer identity-did <seed hex>                      prints the did:key of the seed
//	aether-libp2p-peer identity-token <https://host:port> <sha256:fp> <seed hex> [credential]
//	                                                               challenge -> attest, prints the JWT
func identityToken(args []string) {
	seed, err := hex.DecodeString(args[0+boolToInt(len(args) > 1)*2])
	if err != nil || len(seed) != 32 {
		die("seed must be 32 bytes of hex")
	}
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	did := didKey(pub)
	if len(args) == 1 {
		fmt.Println(did)
		return
	}
	c := pinnedClient(args[1])
	code, m, err := postJSON(c, args[0]+"/v1/identity/challenge", map[string]any{"did": did}, "")
	if err != nil || code != 200 {
		die("challenge: %v %d %v", err, code, m)
	}
	nonce, _ := m["nonce"].(string)
	aud, _ := m["audience"].(string)
	body := map[string]any{"did": did, "nonce": nonce,
		"signature": b64(ed25519.Sign(priv, []byte("aether-attest-v1\n"+nonce+"\n"+did+"\n"+aud)))}
	if len(args) > 3 {
		body["credentials"] = []string{args[3]}
	}
	code, m, err = postJSON(c, args[0]+"/v1/identity/attest", body, "")
	if err != nil || code != 200 {
		die("attest: %v %d %v", err, code, m)
	}
	fmt.Println(m["token"])
}

func boolToInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
