// Signed streams (src/log) checked by an independent verifier: nothing of ours but the data.
//
//  aether_log_tool makes a 10 000-entry stream (batches of 1..100, some payloads as linked raw
//  blocks) in a real vault and exports it as a CAR. This script then, with @ipld/car,
//  @ipld/dag-cbor, multiformats (base58btc for the did:key), @noble/hashes (SHA-256) and
//  @noble/curves (Ed25519) only:
//   - checks every block against its CID, the signed head's Ed25519 signature against the key
//     in the author's did:key, every entry's stream / seq / prev chain / payload link, and
//     recomputes the RFC 9162 Merkle root (its own MTH) to compare with the signed root;
//   - asks the tool for inclusion proofs of >= 200 random (index, size) pairs and consistency
//     proofs between >= 200 random size pairs, and verifies them with its own implementation of
//     the RFC 9162 §2.1.3.2 / §2.1.4.2 algorithms against roots it computed itself;
//   - flips one bit in a proof hash, a root, the signature, the signed head, an entry: each must
//     make verification fail (and the tool's verifier must refuse flipped CARs too).
//
//  With $AETHER_BIN set (ctest sets it), the same independent checks run on a stream made
//  through the CLI (`aether log append/head/prove/export`), `aether log verify --file` must
//  accept the export without any node home and refuse flipped copies, and `aether log import`
//  must store the 10 000-entry stream read-only and refuse a flipped copy writing nothing.
//
// usage: node log.mjs /path/to/aether_log_tool   (INTEROP_SEED=n to replay)

import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { CarReader } from '@ipld/car'
import * as dagCbor from '@ipld/dag-cbor'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import { sha256 } from '@noble/hashes/sha2.js'
import { ed25519 } from '@noble/curves/ed25519.js'
import { Checker, Rng, bytesEqual, fromHex, pickSeed, runTool, toHex, toolPath } from './lib/harness.mjs'

const tool = toolPath()
const seed = pickSeed('log')
const rng = new Rng(seed)
const ck = new Checker('log')
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'aether-log-'))
const N = 10000
const authorSeed = toHex(rng.bytes(32))

// ---- an RFC 9162 Merkle tree, written here from the RFC --------------------------------------

const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) { out.set(p, o); o += p.length }
  return out
}
const leafHash = (leaf) => sha256(concat(Uint8Array.of(0), leaf))
const nodeHash = (l, r) => sha256(concat(Uint8Array.of(1), l, r))
const largestPow2Below = (n) => { let k = 1; while (k * 2 < n) k *= 2; return k }

function makeMth (leaves) {
  const memo = new Map() // complete, aligned subtrees only
  function mth (lo, hi) {
    const n = hi - lo
    if (n === 0) return sha256(new Uint8Array(0))
    if (n === 1) return leaves[lo]
    const pow2 = (n & (n - 1)) === 0
    const key = `${lo}:${hi}`
    if (pow2 && memo.has(key)) return memo.get(key)
    const k = largestPow2Below(n)
    const h = nodeHash(mth(lo, lo + k), mth(lo + k, hi))
    if (pow2) memo.set(key, h)
    return h
  }
  return (size) => mth(0, size)
}

// RFC 9162 §2.1.3.2.
function verifyInclusion (index, size, leaf, proof, root) {
  if (index >= size) return false
  let fn = index
  let sn = size - 1
  let r = leaf
  for (const p of proof) {
    if (sn === 0) return false
    if ((fn & 1) === 1 || fn === sn) {
      r = nodeHash(p, r)
      if ((fn & 1) === 0) {
        while ((fn & 1) === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2) }
      }
    } else {
      r = nodeHash(r, p)
    }
    fn = Math.floor(fn / 2); sn = Math.floor(sn / 2)
  }
  return sn === 0 && bytesEqual(r, root)
}

// RFC 9162 §2.1.4.2 (first == second: empty proof, equal roots).
function verifyConsistency (first, second, firstRoot, secondRoot, proof) {
  if (first < 1 || first > second) return false
  if (first === second) return proof.length === 0 && bytesEqual(firstRoot, secondRoot)
  if (proof.length === 0) return false
  const path = (first & (first - 1)) === 0 ? [firstRoot, ...proof] : [...proof]
  let fn = first - 1
  let sn = second - 1
  while ((fn & 1) === 1) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2) }
  let fr = path[0]
  let sr = path[0]
  for (const c of path.slice(1)) {
    if (sn === 0) return false
    if ((fn & 1) === 1 || fn === sn) {
      fr = nodeHash(c, fr)
      sr = nodeHash(c, sr)
      if ((fn & 1) === 0) {
        while ((fn & 1) === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2) }
      }
    } else {
      sr = nodeHash(sr, c)
    }
    fn = Math.floor(fn / 2); sn = Math.floor(sn / 2)
  }
  return sn === 0 && bytesEqual(fr, firstRoot) && bytesEqual(sr, secondRoot)
}

// ---- signatures --------------------------------------------------------------------------------

const HEAD_DOMAIN = new TextEncoder().encode('aether/log/head/v1\n')

function didKeyPublic (did) {
  if (!did.startsWith('did:key:z')) throw new Error(`not a did:key: ${did}`)
  const raw = base58btc.decode(did.slice('did:key:'.length))
  if (raw.length !== 34 || raw[0] !== 0xed || raw[1] !== 0x01) throw new Error(`not an Ed25519 did:key: ${did}`)
  return raw.slice(2)
}

function verifySignedHead (headBytes, sig, publicKey) {
  try {
    return ed25519.verify(sig, concat(HEAD_DOMAIN, headBytes), publicKey)
  } catch { return false }
}

function flipBit (bytes, bit) {
  const out = new Uint8Array(bytes)
  out[Math.floor(bit / 8) % out.length] ^= 1 << (bit % 8)
  return out
}

// ---- the stream --------------------------------------------------------------------------------

const t0 = Date.now()
const [did, sizeText, rootHex] = runTool(tool, ['make', tmp, String(N), authorSeed])[0].split(' ')
console.log(`log: made ${sizeText} entries in ${Date.now() - t0} ms`)
const carBytes = fs.readFileSync(path.join(tmp, 'stream.car'))
const reader = await CarReader.fromBytes(carBytes)
const roots = await reader.getRoots()
ck.check('car', roots.length === 1, `roots: ${roots.length}`)

const blocks = new Map()
const cborBlocks = []
for await (const { cid, bytes } of reader.blocks()) {
  const ok = cid.multihash.code === 0x12 && bytesEqual(sha256(bytes), cid.multihash.digest)
  ck.check('block-cid', ok, () => `block ${cid} does not hash to its CID`)
  blocks.set(cid.toString(), bytes)
  if (cid.code === 0x71 && !cid.equals(roots[0])) cborBlocks.push({ cid, bytes })
}

// The signed head: {head: bytes, sig: bytes}; head = {stream, size, root, ts}.
const signed = dagCbor.decode(blocks.get(roots[0].toString()))
ck.check('head-shape', Object.keys(signed).sort().join() === 'head,sig', () => JSON.stringify(Object.keys(signed)))
const head = dagCbor.decode(signed.head)
ck.check('head-shape', Object.keys(head).sort().join() === 'root,size,stream,ts', () => JSON.stringify(Object.keys(head)))
ck.check('head-canonical', bytesEqual(dagCbor.encode(head), signed.head), 'head bytes are not canonical dag-cbor')
const [author, name] = [head.stream.slice(0, head.stream.indexOf('/')), head.stream.slice(head.stream.indexOf('/') + 1)]
ck.check('head-stream', author === did && name === 'interop', () => head.stream)
const publicKey = didKeyPublic(author)
ck.check('head-signature', verifySignedHead(signed.head, signed.sig, publicKey), 'signed head does not verify')
ck.check('head-size', head.size === N, () => `size ${head.size}`)
ck.check('head-root', toHex(head.root) === rootHex, 'root differs from what the tool printed')

// Entries: by seq, chained by prev, each in the signed stream.
const entries = new Array(N)
for (const { cid, bytes } of cborBlocks) {
  const e = dagCbor.decode(bytes)
  ck.check('entry-canonical', bytesEqual(dagCbor.encode(e), bytes), () => `entry ${cid} is not canonical`)
  const keys = Object.keys(e).sort().join()
  ck.check('entry-shape', keys === 'data,prev,seq,stream,ts' || keys === 'payload,prev,seq,stream,ts', keys)
  ck.check('entry-stream', e.stream === head.stream, e.stream)
  ck.check('entry-fork', entries[e.seq] === undefined, () => `two entries for seq ${e.seq}`)
  entries[e.seq] = { cid, bytes, e }
}
let linked = 0
for (let seq = 0; seq < N; seq++) {
  const x = entries[seq]
  if (!ck.check('entry-gap', x !== undefined, `entry ${seq} missing`)) continue
  const prevOk = seq === 0 ? x.e.prev === null : (x.e.prev instanceof Object && CID.asCID(x.e.prev)?.equals(entries[seq - 1]?.cid))
  ck.check('entry-prev', prevOk, () => `entry ${seq}: prev ${x.e.prev}`)
  if (x.e.payload) {
    linked++
    const p = blocks.get(CID.asCID(x.e.payload).toString())
    ck.check('entry-payload', p !== undefined && p.length > 1024, () => `entry ${seq}: payload block missing or small`)
  } else {
    ck.check('entry-inline', x.e.data.length <= 1024, `entry ${seq}: inline data too long`)
  }
}
ck.check('payload-blocks', linked > 50, `only ${linked} linked payloads`)

const leaves = entries.map((x) => leafHash(x.bytes))
const mth = makeMth(leaves)
ck.check('merkle-root', bytesEqual(mth(N), head.root), 'our MTH of the entries differs from the signed root')

// ---- proofs ------------------------------------------------------------------------------------

const parsePath = (line) => line === '-' ? [] : line.split(',').map(fromHex)
const inclusionQueries = []
for (let i = 0; i < 240; i++) {
  const size = i % 2 === 0 ? N : 1 + rng.int(N)
  inclusionQueries.push([rng.int(size), size])
}
inclusionQueries.push([0, 1], [N - 1, N], [0, N], [4095, 4096], [4096, 4097])
const consistencyQueries = []
for (let i = 0; i < 240; i++) {
  const a = 1 + rng.int(N)
  const b = 1 + rng.int(N)
  consistencyQueries.push([Math.min(a, b), Math.max(a, b)])
}
consistencyQueries.push([1, N], [N, N], [4096, N], [N - 1, N], [1, 2], [7, 8], [8, 9])
const lines = [
  ...inclusionQueries.map(([i, n]) => `incl ${i} ${n}`),
  ...consistencyQueries.map(([m, n]) => `cons ${m} ${n}`)
]
const t1 = Date.now()
const answers = runTool(tool, ['prove', tmp, authorSeed], lines)
console.log(`log: ${lines.length} proofs generated in ${Date.now() - t1} ms (one process)`)

let flips = 0
inclusionQueries.forEach(([index, size], q) => {
  const proof = parsePath(answers[q])
  const root = mth(size)
  const leaf = leaves[index]
  ck.check('inclusion', verifyInclusion(index, size, leaf, proof, root), () => `index ${index} size ${size}`)
  if (q % 3 === 0) {
    if (proof.length > 0) {
      const p = rng.int(proof.length)
      const bad = proof.map((h, j) => j === p ? flipBit(h, rng.int(256)) : h)
      ck.check('inclusion-flip-proof', !verifyInclusion(index, size, leaf, bad, root), `flipped proof hash ${p}`)
      flips++
    }
    ck.check('inclusion-flip-root', !verifyInclusion(index, size, leaf, proof, flipBit(root, rng.int(256))), 'flipped root')
    const entry = flipBit(entries[index].bytes, rng.int(entries[index].bytes.length * 8))
    ck.check('inclusion-flip-entry', !verifyInclusion(index, size, leafHash(entry), proof, root), 'flipped entry')
    if (size > 1) ck.check('inclusion-wrong-index', !verifyInclusion((index + 1) % size, size, leaf, proof, root), 'index+1')
    flips += 2
  }
})
consistencyQueries.forEach(([m, n], q) => {
  const proof = parsePath(answers[inclusionQueries.length + q])
  const r1 = mth(m)
  const r2 = mth(n)
  ck.check('consistency', verifyConsistency(m, n, r1, r2, proof), () => `${m} -> ${n}`)
  if (q % 3 === 0 && m < n) {
    const p = rng.int(proof.length)
    const bad = proof.map((h, j) => j === p ? flipBit(h, rng.int(256)) : h)
    ck.check('consistency-flip-proof', !verifyConsistency(m, n, r1, r2, bad), `${m}->${n} flipped proof hash ${p}`)
    ck.check('consistency-flip-first-root', !verifyConsistency(m, n, flipBit(r1, rng.int(256)), r2, proof), `${m}->${n}`)
    ck.check('consistency-flip-second-root', !verifyConsistency(m, n, r1, flipBit(r2, rng.int(256)), proof), `${m}->${n}`)
    flips += 3
  }
})

// ---- flipped signatures, heads and exports -------------------------------------------------------

for (let i = 0; i < 20; i++) {
  ck.check('flip-signature', !verifySignedHead(signed.head, flipBit(signed.sig, rng.int(512)), publicKey), 'sig')
  ck.check('flip-head', !verifySignedHead(flipBit(signed.head, rng.int(signed.head.length * 8)), signed.sig, publicKey), 'head')
  flips += 2
}
// Our own verifier must refuse a CAR with a bit flipped anywhere past the CAR header too.
const headerEnd = carBytes.length - [...blocks.values()].reduce((n, b) => n + b.length, 0) - 40 * blocks.size
const flippedCars = []
for (let i = 0; i < 12; i++) {
  const f = path.join(tmp, `flip${i}.car`)
  const pos = Math.max(60, headerEnd) + rng.int(carBytes.length - Math.max(60, headerEnd))
  fs.writeFileSync(f, flipBit(carBytes, pos * 8 + rng.int(8)))
  flippedCars.push(f)
}
const good = runTool(tool, ['verify', path.join(tmp, 'stream.car')])[0]
ck.check('tool-verify', good === `ok ${N}`, good)
for (const f of flippedCars) {
  const out = runTool(tool, ['verify', f])[0]
  ck.check('tool-verify-flipped', out.startsWith('error '), () => `${path.basename(f)}: ${out}`)
}

console.log(`log: ${inclusionQueries.length} inclusion and ${consistencyQueries.length} consistency proofs checked, ` +
  `${flips} bit flips refused, ${linked} linked payloads`)

// ---- the CLI -------------------------------------------------------------------------------------

// Checks an exported CAR independently; returns {head, leaves, entries} (null on a failed check).
async function checkExport (group, bytes, expectDid) {
  const r = await CarReader.fromBytes(bytes)
  const [root] = await r.getRoots()
  const byCid = new Map()
  for await (const { cid, bytes: b } of r.blocks()) {
    ck.check(`${group}-block-cid`, bytesEqual(sha256(b), cid.multihash.digest), () => `${cid}`)
    byCid.set(cid.toString(), { cid, b })
  }
  const sh = dagCbor.decode(byCid.get(root.toString()).b)
  const h = dagCbor.decode(sh.head)
  const did = h.stream.slice(0, h.stream.indexOf('/'))
  ck.check(`${group}-author`, did === expectDid, () => `${did} != ${expectDid}`)
  ck.check(`${group}-signature`, verifySignedHead(sh.head, sh.sig, didKeyPublic(did)), 'signed head')
  const es = []
  for (const { cid, b } of byCid.values()) {
    if (cid.code !== 0x71 || cid.equals(root)) continue
    const e = dagCbor.decode(b)
    es[e.seq] = { cid, b, e }
  }
  ck.check(`${group}-size`, es.length === h.size && es.every((x) => x), () => `${es.length} vs ${h.size}`)
  es.forEach((x, i) => ck.check(`${group}-prev`, i === 0 ? x.e.prev === null : CID.asCID(x.e.prev).equals(es[i - 1].cid), `seq ${i}`))
  const lv = es.map((x) => leafHash(x.b))
  ck.check(`${group}-root`, bytesEqual(makeMth(lv)(h.size), h.root), 'root')
  return { head: h, leaves: lv, entries: es }
}

const bin = process.env.AETHER_BIN
if (bin) {
  const home = path.join(tmp, 'home')
  const env = { ...process.env, AETHER_HOME: home }
  delete env.AETHER_PASSPHRASE
  const cli = (args, extraEnv = env) => {
    const r = spawnSync(bin, args, { env: extraEnv, encoding: 'utf8', maxBuffer: 1 << 26 })
    return { code: r.status, out: r.stdout, err: r.stderr }
  }
  const must = (args) => {
    const r = cli(args)
    if (r.code !== 0) throw new Error(`aether ${args.join(' ')}: ${r.code} ${r.err}`)
    return r.out
  }
  must(['init', '--insecure-dev'])
  const nodeDid = JSON.parse(must(['--json', 'id', 'show'])).did
  must(['log', 'append', 'cli', 'hello', 'world'])
  const lines = Array.from({ length: 40 }, (_, i) => `line ${i}`).join('\n') + '\n'
  fs.writeFileSync(path.join(tmp, 'lines.txt'), lines)
  const batch = JSON.parse(must(['--json', 'log', 'append', 'cli', '--file', path.join(tmp, 'lines.txt'), '--lines']))
  ck.check('cli-append', batch.first_seq === 1 && batch.last_seq === 40, () => JSON.stringify(batch))
  fs.writeFileSync(path.join(tmp, 'big.bin'), rng.bytes(3000))
  must(['log', 'append', 'cli', '--file', path.join(tmp, 'big.bin')])
  const headJ = JSON.parse(must(['--json', 'log', 'head', 'cli']))
  const shead = dagCbor.decode(fromHex(headJ.signed_head))
  ck.check('cli-head-signature', verifySignedHead(shead.head, shead.sig, didKeyPublic(nodeDid)), 'head')
  const carPath = path.join(tmp, 'cli.car')
  must(['log', 'export', 'cli', carPath])
  const cliCar = fs.readFileSync(carPath)
  const x = await checkExport('cli-export', cliCar, nodeDid)
  ck.check('cli-export-size', x.head.size === 42, () => `size ${x.head.size}`)
  ck.check('cli-export-text', new TextDecoder().decode(x.entries[0].e.data) === 'hello world', 'entry 0')
  const mthCli = makeMth(x.leaves)
  for (const [seq, size] of [[0, 42], [7, 20], [41, 42], [5, 6], [0, 1]]) {
    const p = JSON.parse(must(['--json', 'log', 'prove', 'cli', String(seq), '--size', String(size)]))
    ck.check('cli-prove', bytesEqual(fromHex(p.entry), x.entries[seq].b) &&
      verifyInclusion(seq, size, x.leaves[seq], p.path.map(fromHex), mthCli(size)), () => `${seq}/${size}`)
  }
  for (const [m, n] of [[1, 42], [2, 41], [41, 42], [16, 32]]) {
    const p = JSON.parse(must(['--json', 'log', 'prove-consistency', 'cli', String(m), String(n)]))
    ck.check('cli-consistency', verifyConsistency(m, n, mthCli(m), mthCli(n), p.path.map(fromHex)), () => `${m}->${n}`)
  }
  // The standalone verifier: no node home at all.
  const bare = { PATH: process.env.PATH, AETHER_HOME: path.join(tmp, 'does-not-exist') }
  const ok = cli(['log', 'verify', '--file', carPath], bare)
  ck.check('cli-verify', ok.code === 0, () => `exit ${ok.code}: ${ok.err}`)
  let refused = 0
  for (let i = 0; i < 12; i++) {
    const f = path.join(tmp, `cli-flip${i}.car`)
    fs.writeFileSync(f, flipBit(cliCar, 8 * (40 + rng.int(cliCar.length - 40)) + rng.int(8)))
    const r = cli(['log', 'verify', '--file', f], bare)
    if (ck.check('cli-verify-flipped', r.code === 1 && r.err.includes('error'), () => `flip ${i}: exit ${r.code}`)) refused++
  }
  // Import: the tool's 10 000-entry stream (another author) lands read-only; flipped copies and
  // appends to it are refused, and a refused import leaves nothing behind.
  const flippedImport = path.join(tmp, 'flip-import.car')
  fs.writeFileSync(flippedImport, flipBit(carBytes, 8 * (carBytes.length - 100)))
  const bad = cli(['log', 'import', flippedImport])
  ck.check('cli-import-flipped', bad.code === 1, () => `exit ${bad.code}`)
  ck.check('cli-import-nothing-written', JSON.parse(must(['--json', 'log', 'list'])).length === 1, 'list')
  const imp = JSON.parse(must(['--json', 'log', 'import', path.join(tmp, 'stream.car')]))
  ck.check('cli-import', imp.added === N && imp.stream === head.stream, () => JSON.stringify(imp))
  const ih = JSON.parse(must(['--json', 'log', 'head', head.stream]))
  ck.check('cli-import-head', ih.size === N && ih.root === toHex(head.root), () => JSON.stringify(ih))
  const p = JSON.parse(must(['--json', 'log', 'prove', head.stream, '1234']))
  ck.check('cli-import-prove', verifyInclusion(1234, N, leaves[1234], p.path.map(fromHex), head.root), 'prove 1234')
  const ap = cli(['log', 'append', head.stream, 'nope'])
  ck.check('cli-import-read-only', ap.code === 1 && ap.err.includes('permission-denied'), () => `exit ${ap.code}: ${ap.err}`)
  console.log(`log: CLI stream of ${x.head.size} entries checked; ${refused} flipped exports refused by \`aether log verify\`; ` +
    `${imp.added} entries imported`)
} else {
  console.log('log: AETHER_BIN not set: the CLI part is skipped')
}

fs.rmSync(tmp, { recursive: true, force: true })
ck.finish()
