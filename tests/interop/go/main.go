// Go peer for the libp2p interop test (tests/interop/libp2p_go.sh): go-libp2p with TCP, Noise
// and Yamux only.
//
//	aether-libp2p-peer listen [seconds]   prints {"multiaddr":...,"peer_id":...} and serves ping
//	                                      until stdin closes or the time is up.
//	aether-libp2p-peer dial <multiaddr>   connects, pings 5 times, prints {"rtts_ms":[...]}.
//	aether-libp2p-peer perf <multiaddr> <upload bytes> <download bytes> [runs]
//	                                      /perf/1.0.0 client (libp2p/specs perf/perf.md), prints
//	                                      {"upload_s":[..],"download_s":[..],"connect_ms":..}.
//	aether-libp2p-peer dht-listen [seconds]  like listen, plus two go-libp2p-kad-dht servers:
//	                                      /ipfs/kad/1.0.0 (default validators) and
//	                                      /aether/kad/1.0.0 (the "aether" record validator).
//	dht-put / dht-get use /aether/kad/1.0.0; the others /ipfs/kad/1.0.0.
//	aether-libp2p-peer dht-put <multiaddr> <name> <payload>   a fresh DHT node joins through
//	                                      <multiaddr>, PUTs a signed /aether/<its id>/<name> record,
//	                                      prints {"key":...}.
//	aether-libp2p-peer dht-get <multiaddr> <key>       prints {"payload":...} of the best record.
//	aether-libp2p-peer dht-put-pk <multiaddr>          PUTs its /pk/ record on /ipfs/kad/1.0.0.
//	aether-libp2p-peer dht-get-pk <multiaddr> <peer>   GETs /pk/<peer>, checks it hashes to <peer>.
//	aether-libp2p-peer dht-provide <multiaddr> <cid>   announces itself as a provider.
//	aether-libp2p-peer dht-providers <multiaddr> <cid> prints {"providers":[peer ids]}.
//	The listener also serves /perf/1.0.0 (go-libp2p v0.48 ships no perf service; this harness
//	implements the spec's few lines on go-libp2p streams).
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"bytes"
	"errors"
	"strings"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	lcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	noise "github.com/libp2p/go-libp2p/p2p/security/noise"
	tcp "github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
)

func newHost(listen bool) (host.Host, error) {
	opts := []libp2p.Option{
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.Ping(true),
	}
	if listen {
		opts = append(opts, libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	} else {
		opts = append(opts, libp2p.NoListenAddrs)
	}
	return libp2p.New(opts...)
}

// peerInfo parses /ip4/../tcp/../p2p/<id> (or dies with a JSON error).
func peerInfo(addr string) *peer.AddrInfo {
	maddr, err := ma.NewMultiaddr(addr)
	if err != nil {
		die("bad multiaddr %q: %v", addr, err)
	}
	info, err := peer.AddrInfoFromP2pAddr(maddr)
	if err != nil {
		die("multiaddr needs /p2p/: %v", err)
	}
	return info
}

func die(format string, args ...any) {
	out, _ := json.Marshal(map[string]any{"ok": false, "error": fmt.Sprintf(format, args...)})
	fmt.Println(string(out))
	os.Exit(1)
}

func listen(seconds int, withDHT bool) {
	h, err := newHost(true)
	if err != nil {
		die("new host: %v", err)
	}
	defer h.Close()
	if withDHT {
		d := newDHT(h, false)
		defer d.Close()
		a := newDHT(h, true)
		defer a.Close()
	}
	addrs := h.Addrs()
	if len(addrs) == 0 {
		die("no listen address")
	}
	h.SetStreamHandler(perfID, servePerf)
	// Report every peer identify completes with (what go-libp2p learned about the dialer).
	sub, err := h.EventBus().Subscribe(new(event.EvtPeerIdentificationCompleted))
	if err != nil {
		die("subscribe: %v", err)
	}
	go func() {
		for e := range sub.Out() {
			ev := e.(event.EvtPeerIdentificationCompleted)
			fmt.Println(string(identifiedJSON(h, ev)))
		}
	}()
	full := addrs[0].String() + "/p2p/" + h.ID().String()
	out, _ := json.Marshal(map[string]any{"multiaddr": full, "peer_id": h.ID().String()})
	fmt.Println(string(out))
	done := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Duration(seconds) * time.Second):
	}
}

// ---- the "aether" DHT record namespace (docs/formats/libp2p.md): value = u64 BE sequence ||
// 64-byte Ed25519 signature || payload, signed over "aether-dht-record:" || key || seq || payload.

type aetherValidator struct{}

func signingInput(key string, seq uint64, payload []byte) []byte {
	var b bytes.Buffer
	b.WriteString("aether-dht-record:")
	b.WriteString(key)
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], seq)
	b.Write(s[:])
	b.Write(payload)
	return b.Bytes()
}

func (aetherValidator) Validate(key string, value []byte) error {
	parts := strings.SplitN(key, "/", 4)
	if len(parts) != 4 || parts[0] != "" || parts[1] != "aether" || parts[3] == "" {
		return errors.New("aether record: key must be /aether/<peer id>/<name>")
	}
	pid, err := peer.Decode(parts[2])
	if err != nil {
		return err
	}
	pub, err := pid.ExtractPublicKey()
	if err != nil {
		return err
	}
	if len(value) < 72 {
		return errors.New("aether record: too short")
	}
	seq := binary.BigEndian.Uint64(value[:8])
	ok, err := pub.Verify(signingInput(key, seq, value[72:]), value[8:72])
	if err != nil || !ok {
		return errors.New("aether record: bad signature")
	}
	return nil
}

func (aetherValidator) Select(key string, vals [][]byte) (int, error) {
	best := 0
	for i, v := range vals {
		if len(v) >= 8 && len(vals[best]) >= 8 && binary.BigEndian.Uint64(v[:8]) > binary.BigEndian.Uint64(vals[best][:8]) {
			best = i
		}
	}
	return best, nil
}

// The public /ipfs/kad/1.0.0 DHT (go-libp2p-kad-dht allows only the /pk and /ipns validators
// there) or our own /aether/kad/1.0.0 DHT with the "aether" record namespace.
func newDHT(h host.Host, aether bool) *dht.IpfsDHT {
	opts := []dht.Option{dht.Mode(dht.ModeServer)}
	if aether {
		opts = append(opts, dht.ProtocolPrefix("/aether"), dht.NamespacedValidator("aether", aetherValidator{}))
	}
	d, err := dht.New(h, opts...)
	if err != nil {
		die("dht: %v", err)
	}
	return d
}

// A DHT node that joins through one peer and waits until that peer is in its routing table.
func joinDHT(ctx context.Context, addr string, aether bool) (host.Host, *dht.IpfsDHT) {
	info := peerInfo(addr)
	h, err := newHost(true)
	if err != nil {
		die("new host: %v", err)
	}
	d := newDHT(h, aether)
	if err := h.Connect(ctx, *info); err != nil {
		die("connect: %v", err)
	}
	for d.RoutingTable().Find(info.ID) == "" {
		select {
		case <-ctx.Done():
			die("the peer never entered the routing table (does it serve /ipfs/kad/1.0.0 in identify?)")
		case <-time.After(50 * time.Millisecond):
		}
	}
	return h, d
}

func printJSON(m map[string]any) {
	out, _ := json.Marshal(m)
	fmt.Println(string(out))
}

func dhtCommand(mode string, args []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h, d := joinDHT(ctx, args[0], mode == "dht-put" || mode == "dht-get")
	defer h.Close()
	defer d.Close()
	switch mode {
	case "dht-put":
		if len(args) != 3 {
			die("usage: dht-put <multiaddr> <name> <payload>")
		}
		key := "/aether/" + h.ID().String() + "/" + args[1]
		payload := []byte(args[2])
		sig, err := h.Peerstore().PrivKey(h.ID()).Sign(signingInput(key, 1, payload))
		if err != nil {
			die("sign: %v", err)
		}
		value := make([]byte, 8, 72+len(payload))
		binary.BigEndian.PutUint64(value, 1)
		value = append(append(value, sig...), payload...)
		if err := d.PutValue(ctx, key, value); err != nil {
			die("put: %v", err)
		}
		printJSON(map[string]any{"ok": true, "key": key})
	case "dht-get":
		if len(args) != 2 {
			die("usage: dht-get <multiaddr> <key>")
		}
		value, err := d.GetValue(ctx, args[1])
		if err != nil {
			die("get: %v", err)
		}
		printJSON(map[string]any{"ok": true, "payload": string(value[72:])})
	case "dht-put-pk":
		key := "/pk/" + string(h.ID())
		pub, err := lcrypto.MarshalPublicKey(h.Peerstore().PubKey(h.ID()))
		if err != nil {
			die("marshal: %v", err)
		}
		if err := d.PutValue(ctx, key, pub); err != nil {
			die("put: %v", err)
		}
		printJSON(map[string]any{"ok": true, "peer_id": h.ID().String()})
	case "dht-get-pk":
		if len(args) != 2 {
			die("usage: dht-get-pk <multiaddr> <peer id>")
		}
		pid, err := peer.Decode(args[1])
		if err != nil {
			die("bad peer id: %v", err)
		}
		value, err := d.GetValue(ctx, "/pk/"+string(pid))
		if err != nil {
			die("get: %v", err)
		}
		pub, err := lcrypto.UnmarshalPublicKey(value)
		if err != nil {
			die("unmarshal: %v", err)
		}
		got, _ := peer.IDFromPublicKey(pub)
		printJSON(map[string]any{"ok": got == pid, "peer_id": got.String()})
	case "dht-provide", "dht-providers":
		if len(args) != 2 {
			die("usage: %s <multiaddr> <cid>", mode)
		}
		c, err := cid.Decode(args[1])
		if err != nil {
			die("bad cid: %v", err)
		}
		if mode == "dht-provide" {
			if err := d.Provide(ctx, c, true); err != nil {
				die("provide: %v", err)
			}
			// ADD_PROVIDER is fire-and-forget (no response): give the message time to leave
			// before this process closes its connections.
			time.Sleep(500 * time.Millisecond)
			printJSON(map[string]any{"ok": true, "peer_id": h.ID().String()})
			return
		}
		var ids []string
		for p := range d.FindProvidersAsync(ctx, c, 10) {
			ids = append(ids, p.ID.String())
		}
		printJSON(map[string]any{"ok": true, "providers": ids})
	}
}

const perfID = "/perf/1.0.0"

func servePerf(s network.Stream) {
	defer s.Close()
	var hdr [8]byte
	if _, err := io.ReadFull(s, hdr[:]); err != nil {
		s.Reset()
		return
	}
	want := binary.BigEndian.Uint64(hdr[:])
	if _, err := io.Copy(io.Discard, s); err != nil {
		s.Reset()
		return
	}
	buf := make([]byte, 64*1024)
	for want > 0 {
		n := uint64(len(buf))
		if want < n {
			n = want
		}
		if _, err := s.Write(buf[:n]); err != nil {
			s.Reset()
			return
		}
		want -= n
	}
}

func perfClient(addr string, upload, download uint64, runs int) {
	info := peerInfo(addr)
	h, err := newHost(false)
	if err != nil {
		die("new host: %v", err)
	}
	defer h.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Second)
	defer cancel()
	start := time.Now()
	if err := h.Connect(ctx, *info); err != nil {
		die("connect: %v", err)
	}
	connect := time.Since(start)
	var ups, downs []float64
	buf := make([]byte, 64*1024)
	for i := 0; i < runs; i++ {
		t0 := time.Now()
		s, err := h.NewStream(ctx, info.ID, perfID)
		if err != nil {
			die("new stream: %v", err)
		}
		var hdr [8]byte
		binary.BigEndian.PutUint64(hdr[:], download)
		if _, err := s.Write(hdr[:]); err != nil {
			die("write header: %v", err)
		}
		left := upload
		for left > 0 {
			n := uint64(len(buf))
			if left < n {
				n = left
			}
			if _, err := s.Write(buf[:n]); err != nil {
				die("upload: %v", err)
			}
			left -= n
		}
		if err := s.CloseWrite(); err != nil {
			die("close write: %v", err)
		}
		t1 := time.Now()
		got, err := io.Copy(io.Discard, s)
		if err != nil {
			die("download: %v", err)
		}
		if uint64(got) != download {
			die("download: got %d of %d bytes", got, download)
		}
		t2 := time.Now()
		s.Close()
		ups = append(ups, t1.Sub(t0).Seconds())
		downs = append(downs, t2.Sub(t1).Seconds())
	}
	out, _ := json.Marshal(map[string]any{"ok": true, "upload_bytes": upload, "download_bytes": download,
		"upload_s": ups, "download_s": downs, "connect_ms": float64(connect.Microseconds()) / 1000.0})
	fmt.Println(string(out))
}

func identifiedJSON(h host.Host, ev event.EvtPeerIdentificationCompleted) []byte {
	var addrs []string
	for _, a := range ev.ListenAddrs {
		addrs = append(addrs, a.String())
	}
	var protos []string
	for _, p := range ev.Protocols {
		protos = append(protos, string(p))
	}
	observed := ""
	if ev.ObservedAddr != nil {
		observed = ev.ObservedAddr.String()
	}
	out, _ := json.Marshal(map[string]any{"identified": ev.Peer.String(), "agent": ev.AgentVersion,
		"protocol_version": ev.ProtocolVersion, "protocols": protos, "listen_addrs": addrs,
		"observed": observed})
	return out
}

func dial(addr string) {
	info := peerInfo(addr)
	h, err := newHost(false)
	if err != nil {
		die("new host: %v", err)
	}
	defer h.Close()
	sub, err := h.EventBus().Subscribe([]any{new(event.EvtPeerIdentificationCompleted),
		new(event.EvtPeerIdentificationFailed)})
	if err != nil {
		die("subscribe: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	if err := h.Connect(ctx, *info); err != nil {
		die("connect: %v", err)
	}
	handshake := time.Since(start)
	results := ping.Ping(ctx, h, info.ID)
	var rtts []float64
	for len(rtts) < 5 {
		res, ok := <-results
		if !ok {
			die("ping channel closed after %d pings", len(rtts))
		}
		if res.Error != nil {
			die("ping %d: %v", len(rtts)+1, res.Error)
		}
		rtts = append(rtts, float64(res.RTT.Microseconds())/1000.0)
	}
	var identified map[string]any
	for identified == nil {
		select {
		case e := <-sub.Out():
			switch ev := e.(type) {
			case event.EvtPeerIdentificationCompleted:
				if ev.Peer == info.ID {
					json.Unmarshal(identifiedJSON(h, ev), &identified)
				}
			case event.EvtPeerIdentificationFailed:
				if ev.Peer == info.ID {
					die("identify failed: %v", ev.Reason)
				}
			}
		case <-ctx.Done():
			die("identify: no result within the deadline")
		}
	}
	cancel()
	out, _ := json.Marshal(map[string]any{"ok": true, "peer_id": info.ID.String(),
		"handshake_ms": float64(handshake.Microseconds()) / 1000.0, "rtts_ms": rtts,
		"identify": identified})
	fmt.Println(string(out))
}

func main() {
	if len(os.Args) < 2 {
		die("usage: %s listen [seconds] | dial <multiaddr>", os.Args[0])
	}
	switch os.Args[1] {
	case "listen":
		seconds := 60
		if len(os.Args) > 2 {
			n, err := strconv.Atoi(os.Args[2])
			if err != nil {
				die("bad seconds: %v", err)
			}
			seconds = n
		}
		listen(seconds, false)
	case "dial":
		if len(os.Args) != 3 {
			die("usage: dial <multiaddr>")
		}
		dial(os.Args[2])
	case "dht-listen":
		seconds := 60
		if len(os.Args) > 2 {
			seconds, _ = strconv.Atoi(os.Args[2])
		}
		listen(seconds, true)
	case "dht-put", "dht-get", "dht-put-pk", "dht-get-pk", "dht-provide", "dht-providers":
		if len(os.Args) < 3 {
			die("usage: %s <multiaddr> ...", os.Args[1])
		}
		dhtCommand(os.Args[1], os.Args[2:])
	case "perf":
		if len(os.Args) < 5 {
			die("usage: perf <multiaddr> <upload bytes> <download bytes> [runs]")
		}
		up, err1 := strconv.ParseUint(os.Args[3], 10, 64)
		down, err2 := strconv.ParseUint(os.Args[4], 10, 64)
		runs := 1
		if len(os.Args) > 5 {
			runs, _ = strconv.Atoi(os.Args[5])
		}
		if err1 != nil || err2 != nil || runs < 1 {
			die("bad perf sizes")
		}
		perfClient(os.Args[2], up, down, runs)
	case "pubsub":
		if len(os.Args) != 8 {
			die("usage: pubsub <gossip|flood> <listen|multiaddr> <topic> <count> <my prefix> <their prefix>")
		}
		n, err := strconv.Atoi(os.Args[5])
		if err != nil || n < 1 {
			die("bad count")
		}
		pubsubExchange(os.Args[2], os.Args[3], os.Args[4], n, os.Args[6], os.Args[7])
	case "identity-load":
		if len(os.Args) < 6 {
			die("usage: identity-load <https://host:port> <sha256:fingerprint> <clients> <seconds> [register]")
		}
		c, err1 := strconv.Atoi(os.Args[4])
		s, err2 := strconv.Atoi(os.Args[5])
		if err1 != nil || err2 != nil || c < 1 || s < 1 {
			die("bad numbers")
		}
		identityLoad(os.Args[2], os.Args[3], c, s, len(os.Args) > 6 && os.Args[6] == "register")
	case "identity-did", "identity-token":
		if (os.Args[1] == "identity-did" && len(os.Args) != 3) || (os.Args[1] == "identity-token" && len(os.Args) < 5) {
			die("usage: identity-did <seed hex> | identity-token <url> <fingerprint> <seed hex> [credential]")
		}
		identityToken(os.Args[2:])
	case "pubsub-mesh":
		if len(os.Args) != 4 {
			die("usage: pubsub-mesh <nodes> <messages>")
		}
		n, err1 := strconv.Atoi(os.Args[2])
		m, err2 := strconv.Atoi(os.Args[3])
		if err1 != nil || err2 != nil || n < 2 || m < 1 {
			die("bad numbers")
		}
		pubsubMesh(n, m)
	default:
		die("unknown mode %q", os.Args[1])
	}
}
