// Pubsub modes of the Go interop peer (tests/interop/libp2p_go_pubsub.sh):
//
//	aether-libp2p-peer pubsub <gossip|flood> <listen|multiaddr> <topic> <count> <my prefix> <their prefix>
//
// Joins <topic> with go-libp2p-pubsub (GossipSub with its defaults: StrictSign, flood publish,
// D=6; or FloodSub). With "listen" it prints {"multiaddr":..} first and waits for a peer; else
// it dials the address. Once the other side is in the topic's peer list (and a heartbeat later)
// it publishes <count> messages "<my prefix>-<i>" (10 ms apart), collects those starting with <their prefix>
// until it has <count> distinct ones (or 60 s pass), lingers 3 s, and prints
// {"received":n,"duplicates":d,"missing":[..],"mesh_peers":..,"published":count}.
package main

import (
	"context"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
)

func pubsubExchange(router, where, topicName string, count int, mine, theirs string) {
	h, err := newHost(true)
	if err != nil {
		die("new host: %v", err)
	}
	defer h.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var ps *pubsub.PubSub
	if router == "flood" {
		ps, err = pubsub.NewFloodSub(ctx, h)
	} else {
		ps, err = pubsub.NewGossipSub(ctx, h)
	}
	if err != nil {
		die("pubsub: %v", err)
	}
	topic, err := ps.Join(topicName)
	if err != nil {
		die("join: %v", err)
	}
	sub, err := topic.Subscribe()
	if err != nil {
		die("subscribe: %v", err)
	}
	if where == "listen" {
		full := h.Addrs()[0].String() + "/p2p/" + h.ID().String()
		printJSON(map[string]any{"multiaddr": full, "peer_id": h.ID().String()})
	} else {
		info := peerInfo(where)
		cctx, ccancel := context.WithTimeout(ctx, 20*time.Second)
		if err := h.Connect(cctx, *info); err != nil {
			die("connect: %v", err)
		}
		ccancel()
	}
	deadline := time.Now().Add(60 * time.Second)
	for len(topic.ListPeers()) == 0 {
		if time.Now().After(deadline) {
			die("no peer joined the topic within 60 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond) // one heartbeat: the mesh forms

	var mu sync.Mutex
	seen := map[string]int{}
	got := make(chan struct{})
	go func() {
		for {
			m, err := sub.Next(ctx)
			if err != nil {
				return
			}
			s := string(m.Data)
			if !strings.HasPrefix(s, theirs+"-") {
				continue
			}
			mu.Lock()
			seen[s]++
			if len(seen) == count {
				close(got)
			}
			mu.Unlock()
		}
	}()
	for i := 0; i < count; i++ {
		if err := topic.Publish(ctx, []byte(fmt.Sprintf("%s-%d", mine, i))); err != nil {
			die("publish %d: %v", i, err)
		}
		// Paced: go-libp2p-pubsub drops what overflows its 32-deep peer and validation queues.
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case <-got:
	case <-time.After(60 * time.Second):
	}
	time.Sleep(3 * time.Second)
	mu.Lock()
	defer mu.Unlock()
	dups := 0
	var missing []string
	for i := 0; i < count; i++ {
		k := fmt.Sprintf("%s-%d", theirs, i)
		if seen[k] == 0 {
			missing = append(missing, k)
		} else {
			dups += seen[k] - 1
		}
	}
	mesh := 0
	if router != "flood" {
		mesh = len(topic.ListPeers())
	}
	printJSON(map[string]any{"ok": true, "received": len(seen), "duplicates": dups, "missing": missing,
		"topic_peers": mesh, "published": count})
}

// pubsubMesh: the Go baseline of the local network test (bench/net_gossip.sh):
//
//	aether-libp2p-peer pubsub-mesh <nodes> <messages>
//
// <nodes> go-libp2p hosts in this process, each dialing up to 4 random earlier ones, all in one
// GossipSub topic; after the meshes form, <messages> are published 20 ms apart from random
// nodes and the delivery latency to every other node is measured. Prints
// {"latency_p50_ms":..,"latency_p99_ms":..,"samples":..,"missing":..}.
func pubsubMesh(n, messages int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type node struct {
		h     host.Host
		topic *pubsub.Topic
		sub   *pubsub.Subscription
	}
	nodes := make([]node, n)
	var mu sync.Mutex
	sent := map[string]time.Time{}
	got := map[string]int{}
	var lat []float64
	for i := range nodes {
		h, err := newHost(true)
		if err != nil {
			die("host: %v", err)
		}
		defer h.Close()
		ps, err := pubsub.NewGossipSub(ctx, h)
		if err != nil {
			die("gossipsub: %v", err)
		}
		t, err := ps.Join("aether-mesh")
		if err != nil {
			die("join: %v", err)
		}
		s, err := t.Subscribe()
		if err != nil {
			die("subscribe: %v", err)
		}
		nodes[i] = node{h, t, s}
		self := h.ID()
		go func() {
			for {
				m, err := s.Next(ctx)
				if err != nil {
					return
				}
				if m.ReceivedFrom == self {
					continue
				}
				mu.Lock()
				if t0, ok := sent[string(m.Data)]; ok {
					lat = append(lat, float64(time.Since(t0).Microseconds())/1000.0)
					got[string(m.Data)]++
				}
				mu.Unlock()
			}
		}()
	}
	rng := rand.New(rand.NewSource(12345))
	for i := 1; i < n; i++ {
		perm := rng.Perm(i)
		for k := 0; k < i && k < 4; k++ {
			j := perm[k]
			if err := nodes[i].h.Connect(ctx, peer.AddrInfo{ID: nodes[j].h.ID(), Addrs: nodes[j].h.Addrs()}); err != nil {
				die("connect: %v", err)
			}
		}
	}
	time.Sleep(3500 * time.Millisecond)
	for m := 0; m < messages; m++ {
		from := rng.Intn(n)
		payload := fmt.Sprintf("m%d-from%d", m, from)
		mu.Lock()
		sent[payload] = time.Now()
		mu.Unlock()
		if err := nodes[from].topic.Publish(ctx, []byte(payload)); err != nil {
			die("publish: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(3 * time.Second)
	mu.Lock()
	defer mu.Unlock()
	missing := 0
	for p := range sent {
		missing += (n - 1) - got[p]
	}
	sort.Float64s(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return lat[int(p*float64(len(lat)-1)+0.5)]
	}
	printJSON(map[string]any{"ok": true, "nodes": n, "messages": messages, "latency_p50_ms": pct(0.5),
		"latency_p99_ms": pct(0.99), "samples": len(lat), "missing": missing})
}
