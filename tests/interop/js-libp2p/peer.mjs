// js-libp2p peer for tests/interop/libp2p_js.sh (the counterpart of tests/interop/go/main.go).
// Run with `node --import ./polyfill.mjs peer.mjs <mode> ...` (Node 20 lacks Promise.withResolvers).
//
//   listen                         serve ping, identify, two Kademlia DHT servers
//                                  (/ipfs/kad/1.0.0 with the default validators and
//                                  /aether/kad/1.0.0 with the "aether" record validator) and
//                                  GossipSub; print {"multiaddr":..,"peer_id":..}; run until stdin closes
//   dial <multiaddr>               connect, ping 5 times, wait for identify, print
//                                  {"ok":true,"rtts_ms":[..],"identify":{"protocols":[..],"listen_addrs":[..]}}
//   dht-put <multiaddr> <name> <payload>   join through <multiaddr>; PUT /aether/<our id>/<name>
//   dht-get <multiaddr> <key>      join; GET; print {"payload":..}
//   dht-provide <multiaddr> <cid>  join /ipfs/kad/1.0.0; provide; print {"peer_id":..}
//   dht-providers <multiaddr> <cid>  join; print {"providers":[..]}
//   pubsub <listen|multiaddr> <topic> <count> <my prefix> <their prefix>
//                                  the same exchange as the Go peer's `pubsub gossip` mode
//   perf <multiaddr> <upload bytes> <download bytes> [runs]
//                                  /perf/1.0.0 client on a lean node (TCP, Noise, Yamux, identify,
//                                  ping); prints {"upload_s":[..],"download_s":[..],"connect_ms":..}
// The listener also serves /perf/1.0.0 (libp2p/specs perf/perf.md). @libp2p/perf is not published
// for libp2p 3, so, as in the Go peer, the spec's few lines are written here on js-libp2p streams.
// Failures print {"ok":false,"error":..} and exit 1.
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { kadDHT } from '@libp2p/kad-dht'
import { gossipsub } from '@libp2p/gossipsub'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { CID } from 'multiformats/cid'

const out = (o) => { process.stdout.write(JSON.stringify(o) + '\n') }
const die = (msg) => { out({ ok: false, error: String(msg) }); process.exit(1) }
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const enc = new TextEncoder()
const dec = new TextDecoder()

// ---- the "aether" record namespace (docs/formats/libp2p.md) -----------------------------------
// key /aether/<peer id>/<name>; value = u64 BE sequence || Ed25519 signature (64) || payload,
// signed over "aether-dht-record:" || key || sequence || payload.
function signingInput (key, seqBytes, payload) {
  const prefix = enc.encode('aether-dht-record:')
  const k = typeof key === 'string' ? enc.encode(key) : key
  const b = new Uint8Array(prefix.length + k.length + 8 + payload.length)
  b.set(prefix, 0); b.set(k, prefix.length); b.set(seqBytes, prefix.length + k.length)
  b.set(payload, prefix.length + k.length + 8)
  return b
}
async function aetherValidate (key, value) {
  const parts = dec.decode(key).split('/')
  if (parts.length !== 4 || parts[0] !== '' || parts[1] !== 'aether' || parts[3] === '') throw new Error('aether record: bad key')
  const pub = peerIdFromString(parts[2]).publicKey
  if (pub == null) throw new Error('aether record: peer id without an inline key')
  if (value.length < 72) throw new Error('aether record: too short')
  const ok = await pub.verify(signingInput(key, value.subarray(0, 8), value.subarray(72)), value.subarray(8, 72))
  if (!ok) throw new Error('aether record: bad signature')
}
function seqOf (v) { return new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0) }
function aetherSelect (key, records) {
  let best = 0
  records.forEach((r, i) => { if (r.length >= 8 && seqOf(r) > seqOf(records[best])) best = i })
  return best
}

async function makeNode (privateKey) {
  const passthrough = (p) => p // loopback addresses are what this test uses
  return createLibp2p({
    privateKey,
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    // js-libp2p accepts 5 inbound connections per second from one IP by default and resets the
    // rest: every test peer and bench client here comes from 127.0.0.1.
    connectionManager: { inboundConnectionThreshold: 1000 },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      // Both DHTs ping a new peer at once; js-libp2p's default is one outbound ping stream.
      ping: ping({ maxOutboundStreams: 4 }),
      dht: kadDHT({ clientMode: false, peerInfoMapper: passthrough, allowQueryWithZeroPeers: true }),
      aetherDht: kadDHT({
        clientMode: false,
        protocol: '/aether/kad/1.0.0',
        peerInfoMapper: passthrough,
        allowQueryWithZeroPeers: true,
        validators: { aether: aetherValidate },
        selectors: { aether: aetherSelect },
        datastorePrefix: '/aether-dht',
        logPrefix: 'libp2p:aether-dht',
        metricsPrefix: 'libp2p_aether_dht'
      }),
      pubsub: gossipsub({ allowPublishToZeroTopicPeers: true })
    }
  })
}

// A node with only the transport stack, identify and ping (the perf client: its connect time is
// not loaded by DHT or pubsub streams).
async function makeLeanNode () {
  return createLibp2p({
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), ping: ping() }
  })
}

// ---- /perf/1.0.0: the client sends the u64 BE size it wants back, then its upload, then closes
// its write side; the server drains the upload and then sends the requested bytes.
const PERF = '/perf/1.0.0'
const CHUNK = new Uint8Array(64 * 1024)
const asBytes = (buf) => (buf instanceof Uint8Array ? buf : buf.subarray())

async function sendZeros (stream, n) {
  while (n > 0) {
    const len = Math.min(n, CHUNK.length)
    if (!stream.send(CHUNK.subarray(0, len))) await stream.onDrain()
    n -= len
  }
}

// Calls onChunk for everything the remote sends until its FIN. Not `for await (... of stream)`,
// nor the 'end' event alone: in js-libp2p 3.3.11, when the FIN comes in with the bytes that
// followed a lazy multistream proposal (go-libp2p's perf client with nothing to upload sends the
// proposal, the header and FIN at once), 'remoteCloseWrite' and 'end' fire before the protocol
// handler runs and the bytes are delivered only afterwards, so the iterator never ends. So: done
// once the remote has closed and nothing is left in the read buffer.
function readToEnd (stream, onChunk) {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (stream.remoteWriteStatus === 'closed' && stream.readBufferLength === 0) finish()
    }
    const onMessage = (evt) => { onChunk(evt.data); check() }
    const finish = (err) => {
      stream.removeEventListener('message', onMessage)
      stream.removeEventListener('end', onEnd)
      stream.removeEventListener('close', onClose)
      if (err != null) reject(err); else resolve()
    }
    const onEnd = () => finish()
    const onClose = (evt) => finish(evt.error)
    stream.addEventListener('message', onMessage)
    stream.addEventListener('end', onEnd)
    stream.addEventListener('close', onClose)
    setTimeout(check, 0) // after the buffered bytes' dispatch (a microtask)
  })
}

async function servePerf (stream) {
  try {
    const hdr = []
    let hdrLen = 0
    await readToEnd(stream, (buf) => {
      if (hdrLen < 8) {
        const b = asBytes(buf)
        hdr.push(b.subarray(0, 8 - hdrLen))
        hdrLen += Math.min(b.length, 8 - hdrLen)
      }
    })
    if (hdrLen < 8) throw new Error('perf: stream ended inside the header')
    const h = new Uint8Array(8)
    let at = 0
    for (const b of hdr) { h.set(b, at); at += b.length }
    await sendZeros(stream, Number(new DataView(h.buffer).getBigUint64(0)))
    await stream.close()
  } catch (e) {
    stream.abort(e)
  }
}

async function perfRun (conn, upload, download) {
  const t0 = performance.now()
  const stream = await conn.newStream(PERF)
  const hdr = new Uint8Array(8)
  new DataView(hdr.buffer).setBigUint64(0, BigInt(download))
  stream.send(hdr)
  await sendZeros(stream, upload)
  await stream.close()
  const t1 = performance.now()
  let got = 0
  await readToEnd(stream, (buf) => { got += buf.byteLength })
  const t2 = performance.now()
  if (got !== download) throw new Error(`perf: downloaded ${got} of ${download} bytes`)
  return [(t1 - t0) / 1000, (t2 - t1) / 1000]
}

function fullAddr (node) {
  const a = node.getMultiaddrs().find((m) => m.toString().startsWith('/ip4/127.0.0.1/'))
  if (a == null) die('no loopback listen address')
  return a.toString()
}

// Join through `addr` and wait until that peer is in the routing table of `dht`.
async function join (node, addr, dht) {
  const ma = multiaddr(addr)
  await node.dial(ma)
  const id = peerIdFromString(ma.getComponents().find((c) => c.name === 'p2p').value)
  for (let i = 0; i < 100; i++) {
    const peers = await dht.routingTable.kb?.closest?.(id.toMultihash().bytes, 20) ?? []
    if (dht.routingTable.size > 0 || peers.length > 0) return id
    await sleep(100)
  }
  die(`the DHT peer did not join our routing table (identify must list the protocol); sizes: ${node.services.dht.routingTable.size}/${node.services.aetherDht.routingTable.size}`)
}

async function lastValue (events) {
  let value = null
  for await (const ev of events) {
    if (ev.name === 'VALUE') value = ev.value
  }
  return value
}

const [mode, ...args] = process.argv.slice(2)
// Listeners run until stdin closes; everything else has a deadline.
const limitS = mode === 'perf' ? 600 : 120
const deadline = mode === 'listen' ? null : setTimeout(() => die(`${mode}: timed out after ${limitS} s`), limitS * 1000)
deadline?.unref()

try {
  if (mode === 'listen') {
    const node = await makeNode()
    await node.handle(PERF, servePerf, { maxInboundStreams: 16 })
    out({ multiaddr: fullAddr(node), peer_id: node.peerId.toString() })
    node.addEventListener('peer:identify', (evt) => {
      const d = evt.detail
      out({ identified: d.peerId.toString(), protocols: d.protocols, listen_addrs: d.listenAddrs.map(String), agent: d.agentVersion })
    })
    process.stdin.resume()
    await new Promise((resolve) => process.stdin.on('end', resolve))
    await node.stop()
    process.exit(0)
  } else if (mode === 'dial') {
    const node = await makeNode()
    const ma = multiaddr(args[0])
    const identified = new Promise((resolve) => node.addEventListener('peer:identify', (evt) => resolve(evt.detail)))
    const t0 = performance.now()
    await node.dial(ma)
    const handshake = performance.now() - t0
    const rtts = []
    for (let i = 0; i < 5; i++) rtts.push(await node.services.ping.ping(ma))
    const d = await Promise.race([identified, sleep(10_000).then(() => null)])
    if (d == null) die('identify: no result within 10 s')
    out({
      ok: true,
      peer_id: d.peerId.toString(),
      handshake_ms: handshake,
      rtts_ms: rtts,
      identify: { protocols: d.protocols, listen_addrs: d.listenAddrs.map(String), agent: d.agentVersion, protocol_version: d.protocolVersion }
    })
    await node.stop()
    process.exit(0)
  } else if (mode === 'perf') {
    const [addr, up, down, runsText] = args
    const upload = Number(up)
    const download = Number(down)
    const runs = Number(runsText ?? 1)
    if (!(upload >= 0) || !(download >= 0) || !(runs >= 1)) die('usage: perf <multiaddr> <upload bytes> <download bytes> [runs]')
    const node = await makeLeanNode()
    const t0 = performance.now()
    const conn = await node.dial(multiaddr(addr))
    const connectMs = performance.now() - t0
    const ups = []
    const downs = []
    for (let i = 0; i < runs; i++) {
      const [u, d] = await perfRun(conn, upload, download)
      ups.push(u); downs.push(d)
    }
    out({ ok: true, upload_bytes: upload, download_bytes: download, upload_s: ups, download_s: downs, connect_ms: connectMs })
    await node.stop()
    process.exit(0)
  } else if (mode === 'dht-put' || mode === 'dht-get') {
    const privateKey = await generateKeyPair('Ed25519')
    const node = await makeNode(privateKey)
    const dht = node.services.aetherDht
    await join(node, args[0], dht)
    if (mode === 'dht-put') {
      const key = `/aether/${node.peerId.toString()}/${args[1]}`
      const payload = enc.encode(args[2])
      const seq = new Uint8Array(8)
      new DataView(seq.buffer).setBigUint64(0, 1n)
      const sig = await privateKey.sign(signingInput(key, seq, payload))
      const value = new Uint8Array(72 + payload.length)
      value.set(seq, 0); value.set(sig, 8); value.set(payload, 72)
      for await (const ev of dht.put(enc.encode(key), value)) { if (ev.name === 'QUERY_ERROR') { /* other peers may fail */ } }
      out({ ok: true, key, peer_id: node.peerId.toString() })
    } else {
      const value = await lastValue(dht.get(enc.encode(args[1])))
      if (value == null) die('no value found')
      out({ ok: true, payload: dec.decode(value.subarray(72)) })
    }
    await node.stop()
    process.exit(0)
  } else if (mode === 'dht-provide' || mode === 'dht-providers') {
    const node = await makeNode()
    const dht = node.services.dht
    await join(node, args[0], dht)
    const cid = CID.parse(args[1])
    if (mode === 'dht-provide') {
      for await (const ev of dht.provide(cid)) { if (ev == null) break }
      out({ ok: true, peer_id: node.peerId.toString() })
    } else {
      const providers = new Set()
      for await (const ev of dht.findProviders(cid)) {
        if (ev.name === 'PROVIDER') for (const p of ev.providers) providers.add(p.id.toString())
      }
      out({ ok: true, providers: [...providers] })
    }
    await node.stop()
    process.exit(0)
  } else if (mode === 'pubsub') {
    const [where, topic, countText, mine, theirs] = args
    const count = Number(countText)
    const node = await makeNode()
    const ps = node.services.pubsub
    const seen = new Map()
    ps.addEventListener('message', (evt) => {
      const m = evt.detail
      if (m.topic !== topic) return
      const s = dec.decode(m.data)
      if (s.startsWith(theirs + '-')) seen.set(s, (seen.get(s) ?? 0) + 1)
    })
    ps.subscribe(topic)
    if (where === 'listen') {
      out({ multiaddr: fullAddr(node), peer_id: node.peerId.toString() })
    } else {
      await node.dial(multiaddr(where))
    }
    for (let i = 0; ps.getSubscribers(topic).length === 0; i++) {
      if (i > 1200) die('no peer joined the topic within 60 s')
      await sleep(50)
    }
    await sleep(1500)
    for (let i = 0; i < count; i++) {
      await ps.publish(topic, enc.encode(`${mine}-${i}`))
      await sleep(10)
    }
    for (let i = 0; seen.size < count && i < 3000; i++) await sleep(20)
    await sleep(3000)
    let duplicates = 0
    const missing = []
    for (let i = 0; i < count; i++) {
      const n = seen.get(`${theirs}-${i}`) ?? 0
      if (n === 0) missing.push(`${theirs}-${i}`); else duplicates += n - 1
    }
    out({ ok: true, received: seen.size, duplicates, missing, published: count, topic_peers: ps.getSubscribers(topic).length })
    await node.stop()
    process.exit(0)
  } else {
    die(`unknown mode ${mode}`)
  }
} catch (e) {
  die(e?.stack ?? e)
}
