// DAG-CBOR interop: Aether's encoder / decoder against @ipld/dag-cbor (cborg underneath).
//
//  1. ours -> JS: the driver encodes 1000 random values (`cbor-gen N SEED`); @ipld/dag-cbor must
//     decode each one and re-encode it to the same bytes (so our output is canonical by JS's
//     definition), and the set must actually contain big / negative ints, floats, links, ...
//  2. JS -> ours: a JS generator (seeded, printed) builds 1000 values, @ipld/dag-cbor encodes
//     them; the driver decodes and re-encodes (`cbor-roundtrip`) and must give back the bytes.
//  3. edge cases and mutations: hand-picked encodings plus random byte mutations of JS output.
//     JS decides: bytes JS rejects must be rejected by us; bytes JS accepts and re-encodes
//     unchanged must round-trip through us unchanged. Bytes JS accepts but would re-encode
//     differently (non-canonical: unsorted keys, float32, undefined, bad UTF-8, ...) may be
//     rejected by us (noted, not a failure); if we accept them we must re-encode them to JS's
//     canonical bytes. Exception: integral floats (1.0, -0.0), which JS numbers turn into
//     integers — there we must only read the same value JS reads.
//     Links to CIDs outside codec.h's codec / hash set, and nesting beyond our depth limit,
//     are also noted rather than failed: they are documented limits, printed on every run.
//
// usage: node dag_cbor.mjs /path/to/aether_interop_tool   (INTEROP_SEED=n to replay)

import * as dagCbor from '@ipld/dag-cbor'
import { Tokenizer, Type } from 'cborg'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { sha256 } from 'multiformats/hashes/sha2'
import { identity } from 'multiformats/hashes/identity'
import { Checker, Rng, bytesEqual, fromHex, parseErr, pickSeed, runTool, toHex, toolPath } from './lib/harness.mjs'

const tool = toolPath()
const seed = pickSeed('dag_cbor')
const rng = new Rng(seed)
const ck = new Checker('dag_cbor')
const N = Number(process.env.INTEROP_COUNT || 1000)

// ---- coverage of a decoded JS value -------------------------------------------------------

function newCoverage () {
  return { bigPos: 0, bigNeg: 0, neg: 0, float: 0, link: 0, bytes: 0, nonAscii: 0, astral: 0, map: 0, list: 0, bool: 0, null: 0, depth3: 0 }
}
function cover (v, cov, depth = 1) {
  if (depth >= 3) cov.depth3++
  if (v === null) cov.null++
  else if (typeof v === 'boolean') cov.bool++
  else if (typeof v === 'bigint') { if (v > 0n) cov.bigPos++; else cov.bigNeg++ }
  else if (typeof v === 'number') {
    if (!Number.isInteger(v)) cov.float++
    else if (v < 0) cov.neg++
  } else if (typeof v === 'string') {
    if (/[^\x00-\x7f]/.test(v)) cov.nonAscii++
    if (/[\u{10000}-\u{10ffff}]/u.test(v)) cov.astral++
  } else if (v instanceof Uint8Array) cov.bytes++
  else if (Array.isArray(v)) { cov.list++; for (const x of v) cover(x, cov, depth + 1) }
  else if (CID.asCID(v)) cov.link++
  else { cov.map++; for (const k of Object.keys(v)) cover(v[k], cov, depth + 1) }
}
function checkCoverage (group, cov, n) {
  // A generator that stopped producing one of these would make the test silently weaker.
  const need = { bigPos: 1, bigNeg: 1, neg: 1, float: 1, link: 1, bytes: 1, nonAscii: 1, astral: 1, map: 1, list: 1, bool: 1, null: 1, depth3: 1 }
  for (const [k, min] of Object.entries(need)) {
    const want = Math.min(min, n) // tiny INTEROP_COUNT runs may miss some
    ck.check(group, (cov[k] ?? 0) >= want, `coverage: only ${cov[k]} value(s) of kind ${k}`)
  }
  console.log(`${group} coverage: ${JSON.stringify(cov)}`)
}

// ---- 1. ours -> JS ---------------------------------------------------------------------------

{
  const ourSeed = rng.next64()
  console.log(`cbor-gen seed ${ourSeed}`)
  const lines = runTool(tool, ['cbor-gen', String(N), String(ourSeed)])
  ck.check('ours->js', lines.length === N, `cbor-gen printed ${lines.length} lines, asked for ${N}`)
  const cov = newCoverage()
  for (const hex of lines) {
    const bytes = fromHex(hex)
    let value
    try {
      value = dagCbor.decode(bytes)
    } catch (e) {
      ck.check('ours->js', false, `@ipld/dag-cbor rejects our encoding: ${e.message}\n  hex ${hex}`)
      continue
    }
    cover(value, cov)
    const again = dagCbor.encode(value)
    ck.check('ours->js', bytesEqual(again, bytes),
      () => `@ipld/dag-cbor re-encodes differently\n  ours ${hex}\n  js   ${toHex(again)}`)
  }
  checkCoverage('ours->js', cov, N)
}

// ---- 2. JS -> ours ---------------------------------------------------------------------------

const INT_EDGES = [0, 1, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER,
  -1, -24, -25, -256, -257, -65536, -65537, -(2 ** 32), -(2 ** 32) - 1, Number.MIN_SAFE_INTEGER,
  2n ** 53n, 2n ** 53n + 1n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n,
  -(2n ** 53n) - 1n, -(2n ** 63n), -(2n ** 63n) - 1n, -(2n ** 64n)]

function randInt () {
  switch (rng.int(6)) {
    case 0: return rng.pick(INT_EDGES)
    case 1: return rng.int(24) * (rng.bool() ? 1 : -1)
    case 2: return rng.int(70000) * (rng.bool() ? 1 : -1)
    case 3: { // any safe integer
      const v = Number(rng.next64() >> 11n)
      return rng.bool() ? v : -v
    }
    case 4: { // beyond 2^53: BigInt (cborg hands these back as BigInt too)
      const v = (rng.next64() | (1n << 53n)) >> BigInt(rng.int(10))
      return v > BigInt(Number.MAX_SAFE_INTEGER) ? v : v + (1n << 53n)
    }
    default: { // negative beyond -2^53, down to -2^64
      const m = (rng.next64() | (1n << 53n)) >> BigInt(rng.int(10))
      return -1n - (m > BigInt(Number.MAX_SAFE_INTEGER) ? m : m + (1n << 53n))
    }
  }
}

function randCodePoint () {
  for (;;) {
    let cp
    switch (rng.int(5)) {
      case 0: case 1: cp = 0x20 + rng.int(0x5f); break
      case 2: cp = rng.int(0x80); break // includes control chars and NUL
      case 3: cp = 0x80 + rng.int(0xff80); break
      default: cp = 0x10000 + rng.int(0x100000); break
    }
    if (cp < 0xd800 || cp > 0xdfff) return String.fromCodePoint(cp)
  }
}
function randString (maxLen = 24) {
  const n = rng.int(10) === 0 ? 200 + rng.int(200) : rng.int(maxLen)
  let s = ''
  for (let i = 0; i < n; i++) s += randCodePoint()
  return s
}
function randBytes () {
  return rng.bytes(rng.int(10) === 0 ? 256 + rng.int(300) : rng.int(40))
}
const LINK_CODECS = [0x55, 0x70, 0x71, 0x72, 0x0129]
function randCid () {
  switch (rng.int(4)) {
    case 0: return CID.createV0(sha256.digest(rng.bytes(rng.int(50))))
    case 1: return CID.createV1(rng.pick(LINK_CODECS), identity.digest(rng.bytes(rng.int(40))))
    case 2: return CID.createV1(rng.pick(LINK_CODECS), Digest.create(0xb220, rng.bytes(32)))
    default: return CID.createV1(rng.pick(LINK_CODECS), sha256.digest(rng.bytes(rng.int(100))))
  }
}
function randValue (depth) {
  const leafOnly = depth >= 6
  const k = rng.int(leafOnly ? 8 : 11)
  switch (k) {
    case 0: return null
    case 1: return rng.bool()
    case 2: case 3: return randInt()
    case 4: return rng.float()
    case 5: return randString()
    case 6: return randBytes()
    case 7: return randCid()
    case 8: {
      const n = rng.int(6)
      const a = []
      for (let i = 0; i < n; i++) a.push(randValue(depth + 1))
      return a
    }
    default: {
      const n = rng.int(7)
      const o = {}
      for (let i = 0; i < n; i++) {
        const key = rng.int(4) === 0 ? rng.pick(['a', 'b', 'aa', 'ab', 'ba', 'z', 'link', '0', '10', '9']) : randString(12)
        if (key === '__proto__') continue
        o[key] = randValue(depth + 1)
      }
      return o
    }
  }
}

const jsValues = []
{
  const cov = newCoverage()
  const lines = []
  for (let i = 0; i < N; i++) {
    // Mostly containers at the top, so nesting gets exercised.
    const v = i % 4 === 0 ? randValue(1) : (rng.bool() ? [randValue(2), randValue(2), randValue(2)] : { x: randValue(2), [randString(6)]: randValue(2), y: randValue(2) })
    const bytes = dagCbor.encode(v)
    cover(dagCbor.decode(bytes), cov)
    jsValues.push(bytes)
    lines.push(toHex(bytes))
  }
  const out = runTool(tool, ['cbor-roundtrip'], lines)
  for (let i = 0; i < lines.length; i++) {
    const err = parseErr(out[i])
    if (err) {
      ck.check('js->ours', false, `we reject an @ipld/dag-cbor encoding: ${out[i]}\n  hex ${lines[i]}`)
    } else {
      ck.check('js->ours', out[i] === lines[i], () => `we re-encode differently\n  js   ${lines[i]}\n  ours ${out[i]}`)
    }
  }
  checkCoverage('js->ours', cov, N)
}

// ---- 3. edge cases and mutations, judged by @ipld/dag-cbor ----------------------------------

const Z32 = '00'.repeat(32)
const EDGE_CASES = [
  // [hex, what]
  ['1800', 'uint 0 in 2 bytes'], ['190017', 'uint 23 in 3 bytes'], ['1a0000ffff', 'uint16 in 5 bytes'],
  ['1b00000000ffffffff', 'uint32 in 9 bytes'], ['3800', 'negint in 2 bytes'], ['5801ff', 'bytes length not minimal'],
  ['780161', 'text length not minimal'], ['980100', 'array length not minimal'], ['b801616101', 'map length not minimal'],
  ['9f01ff', 'indefinite array'], ['bf616101ff', 'indefinite map'], ['5f41ffff', 'indefinite bytes'], ['7f6161ff', 'indefinite text'],
  ['f7', 'undefined'], ['f93c00', 'float16 1.0'], ['fa3fc00000', 'float32 1.5'], ['f97e00', 'float16 NaN'],
  ['fb7ff8000000000000', 'NaN'], ['fb7ff0000000000000', '+Infinity'], ['fbfff0000000000000', '-Infinity'],
  ['fb3ff8000000000000', 'float64 1.5'], ['fb3ff0000000000000', 'float64 1.0 (JS reads it as int 1)'],
  ['fb8000000000000000', 'float64 -0.0'],
  ['c11a00000000', 'tag 1'], ['c24100', 'tag 2 bignum'], ['d82a4100', 'tag 42, empty CID'], ['d82a6161', 'tag 42 on text'],
  ['d82a5823001220' + Z32, 'tag 42 with CIDv0 (0x00 prefix)'],
  ['d82a5824001220' + Z32 + '00', 'tag 42 CID with trailing byte'],
  ['d82a58221220' + Z32, 'tag 42 CID without 0x00 prefix'],
  ['d82a582500017112' + '20' + Z32, 'tag 42 CIDv1 dag-cbor'],
  ['d82a582500017212' + '20' + Z32, 'tag 42 CIDv1 libp2p-key'],
  ['d82a5826000190031220' + Z32, 'tag 42 CIDv1 codec 0x190 (unknown to us)'],
  ['d82a582500017113' + '20' + Z32, 'tag 42 CIDv1 sha2-512 code, 32-byte digest'],
  ['d82a582400017112' + '1f' + Z32.slice(2), 'tag 42 CIDv1 sha2-256 31-byte digest'],
  ['d82ad82a4100', 'nested tag 42'],
  ['a2616101616102', 'duplicate key'], ['a2616201616102', 'keys not sorted'], ['a262616101616202', 'keys not length-first'],
  ['a10102', 'int key'], ['a1416102', 'bytes key'], ['a1f602', 'null key'], ['a1600a', 'empty-string key'],
  ['0101', 'trailing byte'], ['', 'empty input'], ['ff', 'lone break'], ['f0', 'simple 16'], ['f818', 'simple 24'], ['f820', 'simple 32'],
  ['1c', 'reserved info 28'], ['1f', 'uint with info 31'], ['3f', 'negint with info 31'], ['df', 'tag info 31'],
  ['61ff', 'text 0xff'], ['62c328', 'text truncated UTF-8'], ['63eda080', 'text UTF-16 surrogate'], ['64f4908080', 'text > U+10FFFF'],
  ['62c0af', 'text overlong UTF-8'], ['6100', 'text NUL'],
  ['1a', 'truncated uint32'], ['5a000000', 'truncated length'], ['8201', 'truncated array'], ['a1616101', 'map one short'],
  ['3bffffffffffffffff', '-2^64'], ['1bffffffffffffffff', '2^64-1'], ['3b8000000000000000', '-2^63-1'], ['1b0020000000000000', '2^53'],
  ['9bffffffffffffffff', 'huge array length'], ['5bffffffffffffffff00', 'huge bytes length'], ['7b000000010000000061', 'text length 2^32'],
  ['81'.repeat(63) + '80', 'nesting depth 64'], ['81'.repeat(64) + '80', 'nesting depth 65'],
  ['81'.repeat(2000) + '80', 'nesting depth 2001']
]

// codec.h deliberately limits CIDs to the codecs / hashes it knows (raw, dag-pb, dag-cbor,
// libp2p-key, dag-json; sha2-256 / blake2b-256 with full 32-byte digests, identity), links
// included. @ipld/dag-cbor accepts any CID. Such cases are reported as notes, not failures.
const LINK_SCOPE_ERRORS = new Set(['unsupported', 'wrong-length'])

// True if the encoding holds a float token with an integral value (or -0), which JavaScript
// numbers cannot keep apart from integers. Tokenizes with cborg (what @ipld/dag-cbor runs on).
function hasIntegralFloat (hex) {
  try {
    const t = new Tokenizer(fromHex(hex), { allowIndefinite: true, allowUndefined: true })
    while (!t.done()) {
      const tok = t.next()
      if (tok.type === Type.float && typeof tok.value === 'number' && (Number.isInteger(tok.value) || Object.is(tok.value, -0))) return true
    }
  } catch {}
  return false
}

function judgeByJs (hex) {
  try {
    const v = dagCbor.decode(fromHex(hex))
    const again = toHex(dagCbor.encode(v))
    return { ok: true, canonical: again === hex, again }
  } catch (e) {
    return { ok: false, why: e.message }
  }
}

function mutate (bytes) {
  const b = Array.from(bytes)
  const n = 1 + rng.int(3)
  for (let i = 0; i < n; i++) {
    const op = rng.int(5)
    const at = b.length ? rng.int(b.length) : 0
    if (op === 0 && b.length) b[at] = rng.int(256)
    else if (op === 1 && b.length) b[at] ^= 1 << rng.int(8)
    else if (op === 2) b.splice(at, 0, rng.int(256))
    else if (op === 3 && b.length) b.splice(at, 1)
    else b.length = Math.max(0, b.length - 1 - rng.int(3))
  }
  return new Uint8Array(b)
}

{
  const cases = EDGE_CASES.map(([hex, what]) => ({ hex, what }))
  const small = jsValues.filter((b) => b.length < 120)
  for (let i = 0; i < 1000 && small.length; i++) {
    cases.push({ hex: toHex(mutate(rng.pick(small))), what: 'mutation' })
  }
  const out = runTool(tool, ['cbor-roundtrip'], cases.map((c) => c.hex))
  cases.forEach((c, i) => {
    const js = judgeByJs(c.hex)
    const ours = out[i]
    const err = parseErr(ours)
    const label = `${c.what}: ${c.hex.length > 80 ? c.hex.slice(0, 80) + '…' : c.hex}`
    if (!js.ok) {
      ck.check('js-rejects', err !== null, `we accept what @ipld/dag-cbor rejects (${js.why}) — ${label} -> ${ours}`)
    } else if (js.canonical) {
      if (err && err.code === 'limit-exceeded') {
        ck.note('js-accepts, we hit a limit', `${c.what} (${err.message})`)
      } else if (err && LINK_SCOPE_ERRORS.has(err.code) && /link/.test(err.message)) {
        ck.note('js-accepts, link CID outside our codec/hash set', `${c.what}: ${err.code}: ${err.message}`)
      } else {
        ck.check('js-canonical', !err && ours === c.hex, `@ipld/dag-cbor round-trips it, we give ${ours} — ${label}`)
      }
    } else if (err) {
      ck.note('non-canonical for JS, we reject', `${c.what} ${c.hex.slice(0, 24)} -> ${err.code}`)
    } else if (hasIntegralFloat(c.hex)) {
      // JS turns integral floats into integers, so its re-encoding is no reference here; we
      // must at least read the value JS reads.
      let same = false
      try { same = toHex(dagCbor.encode(dagCbor.decode(fromHex(ours)))) === js.again } catch {}
      ck.check('integral floats', same, `we read ${label} as a different value: ours ${ours}, js ${js.again}`)
      if (same) ck.note('we keep integral floats JS turns into integers', `${c.what} ${c.hex.slice(0, 24)} -> ${ours.slice(0, 24)}`)
    } else {
      // We accepted input JS calls non-canonical: we must produce JS's canonical form.
      ck.check('non-canonical', ours === js.again, `we accept ${label}, JS calls it non-canonical: ours ${ours}, js ${js.again}`)
      if (ours === js.again) ck.note('we accept non-canonical input', `${c.what} ${c.hex.slice(0, 24)} -> ${ours.slice(0, 24)}`)
    }
  })
}

ck.finish()
