// CID and multibase interop: Aether's codec against multiformats (CID, bases, sha2-256).
//
//  multibase, for base58btc / base32 / base64url / base16 and random bytes (with leading zeros):
//   - strings multiformats encodes decode with us to the same bytes;
//   - strings we encode are exactly the strings multiformats produces, and decode there.
//  CIDs (v0; v1 raw / dag-pb / dag-cbor / dag-json / libp2p-key; sha2-256 digests computed by
//  multiformats/hashes/sha2, plus identity multihashes):
//   - JS strings (v0 base58, v1 in base32 / base58btc / base64url / base16) parse with us to
//     JS's bytes, and our default text form equals JS's toString();
//   - JS bytes formatted by us in each base parse in JS back to the same CID and string;
//   - the CID we compute for a block (our sha2-256) is the CID multiformats computes.
//  Bad input, judged by multiformats: hand-picked strings and random mutations. Whatever
//  multiformats rejects we must reject. What it accepts in canonical form we must accept, unless
//  it uses a base / codec / hash we do not implement (noted). What it accepts only in a
//  non-canonical form (upper-case hex, padding, ...) we may reject (noted).
//
// usage: node cid_multibase.mjs /path/to/aether_interop_tool   (INTEROP_SEED=n to replay)

import { bases } from 'multiformats/basics'
import { base16 } from 'multiformats/bases/base16'
import { base32 } from 'multiformats/bases/base32'
import { base58btc } from 'multiformats/bases/base58'
import { base64url } from 'multiformats/bases/base64'
import { CID } from 'multiformats/cid'
import { identity } from 'multiformats/hashes/identity'
import { sha256 } from 'multiformats/hashes/sha2'
import { Checker, Rng, bytesEqual, fromHex, parseErr, pickSeed, runTool, toHex, toolPath } from './lib/harness.mjs'

const tool = toolPath()
const seed = pickSeed('cid_multibase')
const rng = new Rng(seed)
const ck = new Checker('cid_multibase')

const OUR_BASES = { base58btc, base32, base64url, base16 }
const anyBase = Object.values(bases).map((b) => b.decoder).reduce((a, d) => a.or(d))
const byPrefix = new Map(Object.values(bases).map((b) => [b.prefix, b]))

function randData () {
  const n = rng.int(8) === 0 ? 100 + rng.int(300) : rng.int(48)
  const b = rng.bytes(n)
  const zeros = rng.int(4) === 0 ? Math.min(n, 1 + rng.int(4)) : 0 // base58 leading-'1' cases
  b.fill(0, 0, zeros)
  return b
}

// ---- multibase -------------------------------------------------------------------------------

const samples = [new Uint8Array(0), new Uint8Array([0]), new Uint8Array([0, 0, 1]), new Uint8Array([255])]
for (let i = 0; i < 300; i++) samples.push(randData())

for (const [name, base] of Object.entries(OUR_BASES)) {
  // JS -> ours
  const jsStrings = samples.map((b) => base.encoder.encode(b))
  const dec = runTool(tool, ['multibase-decode'], jsStrings)
  dec.forEach((line, i) => {
    const [gotBase, gotHex = ''] = line.split(' ')
    ck.check('multibase js->ours', !parseErr(line) && gotBase === name && gotHex === toHex(samples[i]),
      `${name}: we decode ${JSON.stringify(jsStrings[i])} as ${line}, want ${name} ${toHex(samples[i])}`)
  })
  // ours -> JS
  const enc = runTool(tool, ['multibase-encode', name], samples.map(toHex))
  enc.forEach((s, i) => {
    ck.check('multibase ours->js', s === jsStrings[i], `${name}: we encode ${toHex(samples[i])} as ${s}, multiformats as ${jsStrings[i]}`)
    let back = null
    try { back = base.decoder.decode(s) } catch {}
    ck.check('multibase ours->js', back !== null && bytesEqual(back, samples[i]), `${name}: multiformats cannot decode our ${s}`)
  })
}

// Bad / odd multibase strings.
const MB_EDGE = ['', 'z', 'b', 'u', 'f', 'z0', 'zO', 'zI', 'zl', 'z1', 'z11', 'z 1', 'bA', 'bAE', 'ba', 'bae', 'bafy', 'baa', 'b0', 'b1', 'b8',
  'bmfrgg===', 'bmfrgg', 'BMFRGG', 'bMFRGG', 'u+/', 'u-_', 'uAA==', 'uAA', 'uAB', 'uA', 'uAAA', 'u/w', 'u_w', 'f0', 'f00', 'fAB', 'fab', 'fg0',
  'F00', 'mAA', 'MAA==', 'k2', 'K2', 'Z1', '9123', '\u00001', '🚀', 'zz', 'z\u00e9', 'f0 0', 'f00\t', 'x00', 'Qm', '1']
function judgeMultibase (s) {
  try {
    const bytes = anyBase.decode(s)
    const base = byPrefix.get(s.codePointAt(0) === 0x1f680 ? '🚀' : s[0])
    return { ok: true, bytes, canonical: base.encoder.encode(bytes) === s, ours: Object.values(OUR_BASES).includes(base) }
  } catch (e) {
    return { ok: false, why: e.message }
  }
}
function mutateString (s) {
  const chars = Array.from(s)
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_= Il0O'
  const n = 1 + rng.int(2)
  for (let i = 0; i < n; i++) {
    const at = chars.length ? rng.int(chars.length) : 0
    switch (rng.int(5)) {
      case 0: if (chars.length) chars[at] = alphabet[rng.int(alphabet.length)]; break
      case 1: chars.splice(at, 0, alphabet[rng.int(alphabet.length)]); break
      case 2: chars.splice(at, 1); break
      case 3: if (chars.length) chars[at] = rng.bool() ? chars[at].toUpperCase() : chars[at].toLowerCase(); break
      default: chars.length = Math.max(0, chars.length - 1 - rng.int(2))
    }
  }
  return chars.join('')
}
{
  const cases = [...MB_EDGE]
  for (let i = 0; i < 800; i++) {
    const base = rng.pick(Object.values(OUR_BASES))
    cases.push(mutateString(base.encoder.encode(rng.pick(samples))))
  }
  const out = runTool(tool, ['multibase-decode'], cases)
  cases.forEach((s, i) => {
    const js = judgeMultibase(s)
    const err = parseErr(out[i])
    const shown = JSON.stringify(s.length > 60 ? s.slice(0, 60) + '…' : s)
    if (!js.ok) {
      ck.check('multibase js-rejects', err !== null, `we accept ${shown} (-> ${out[i]}), multiformats rejects: ${js.why}`)
    } else if (err) {
      if (!js.ours) ck.note('multibase: base we do not implement', `${shown} -> ${err.code}`)
      else if (!js.canonical) ck.note('multibase: non-canonical for JS, we reject', `${shown} -> ${err.code}`)
      else ck.check('multibase js-canonical', false, `we reject ${shown} (${out[i]}), multiformats decodes it to ${toHex(js.bytes)}`)
    } else {
      const gotHex = out[i].split(' ')[1] ?? ''
      ck.check(js.canonical ? 'multibase js-canonical' : 'multibase non-canonical', gotHex === toHex(js.bytes),
        `we decode ${shown} to ${gotHex}, multiformats to ${toHex(js.bytes)}`)
      if (!js.canonical) ck.note('multibase: non-canonical for JS, we accept', shown)
    }
  })
}

// ---- CIDs ------------------------------------------------------------------------------------

const cids = []
for (let i = 0; i < 200; i++) {
  const data = randData()
  const h = sha256.digest(data)
  cids.push({ data, cid: CID.createV0(h), make: ['0', 'dag-pb'] })
  for (const [codec, name] of [[0x55, 'raw'], [0x70, 'dag-pb'], [0x71, 'dag-cbor']]) {
    cids.push({ data, cid: CID.createV1(codec, h), make: ['1', name] })
  }
  if (i % 4 === 0) {
    cids.push({ cid: CID.createV1(rng.pick([0x72, 0x0129, 0x55]), identity.digest(rng.bytes(rng.int(40)))) })
    cids.push({ data, cid: CID.createV1(0x0129, h), make: ['1', 'dag-json'] })
    cids.push({ data, cid: CID.createV1(0x72, h), make: ['1', 'libp2p-key'] })
  }
}

// JS strings -> ours.
{
  const lines = []
  const want = []
  for (const { cid } of cids) {
    const forms = cid.version === 0 ? [cid.toString()] : Object.values(OUR_BASES).map((b) => cid.toString(b.encoder))
    for (const s of forms) { lines.push(s); want.push(cid) }
  }
  const out = runTool(tool, ['cid-parse'], lines)
  out.forEach((line, i) => {
    const [hex, str] = line.split(' ')
    ck.check('cid js->ours', !parseErr(line) && hex === toHex(want[i].bytes) && str === want[i].toString(),
      `we parse ${lines[i]} as "${line}", want ${toHex(want[i].bytes)} ${want[i].toString()}`)
  })
}

// JS bytes -> our text in each base -> JS.
for (const name of ['default', ...Object.keys(OUR_BASES)]) {
  const out = runTool(tool, ['cid-format', name], cids.map(({ cid }) => toHex(cid.bytes)))
  out.forEach((s, i) => {
    const cid = cids[i].cid
    const expected = cid.version === 0 || name === 'default' ? cid.toString() : cid.toString(OUR_BASES[name].encoder)
    ck.check('cid ours->js', s === expected, `${name}: we format ${toHex(cid.bytes)} as ${s}, multiformats as ${expected}`)
    let back = null
    try { back = CID.parse(s, anyBase) } catch (e) { back = e.message }
    ck.check('cid ours->js', back instanceof CID && back.equals(cid), `${name}: multiformats parses our ${s} as ${back}`)
  })
}

// Our hashing + CID construction against multiformats'.
{
  const withData = cids.filter((c) => c.make)
  const lines = withData.map(({ data, make }) => `${make[0]} ${make[1]} ${toHex(data)}`)
  const out = runTool(tool, ['cid-for-block'], lines)
  out.forEach((s, i) => {
    ck.check('cid for block', s === withData[i].cid.toString(), `we compute ${s} for v${lines[i].slice(0, 40)}…, multiformats ${withData[i].cid}`)
  })
}

// Bad / odd CIDs, as text and as bytes.
const V0 = cids[0].cid.toString()
const V1 = cids[1].cid.toString()
const CID_EDGE = ['', 'Q', 'Qm', V0.slice(0, -1), V0 + '1', V0 + 'a', 'z' + V0, 'b' + V0, V0.toLowerCase(), V1.toUpperCase(), 'B' + V1.slice(1).toUpperCase(),
  V1.slice(0, -1), V1 + 'a', V1 + 'q', V1.slice(1), 'f' + toHex(cids[0].cid.bytes), 'f' + toHex(cids[1].cid.bytes), 'F' + toHex(cids[1].cid.bytes).toUpperCase(),
  'z' + base58btc.baseEncode(cids[0].cid.bytes), cids[1].cid.toString(bases.base36.encoder), cids[1].cid.toString(bases.base64.encoder),
  'u' + base64url.baseEncode(cids[1].cid.bytes) + '==', 'bafyaaaa', 'baeaaaaa', 'bagaaaaa', 'b' + base32.baseEncode(new Uint8Array([2, 0x71, 0x12, 0x20, ...new Uint8Array(32)])),
  'b' + base32.baseEncode(new Uint8Array([1, 0x71, 0x12, 0x1f, ...new Uint8Array(31)])), 'b' + base32.baseEncode(new Uint8Array([1, 0x71, 0x12, 0x20, ...new Uint8Array(33)])),
  'b' + base32.baseEncode(new Uint8Array([1, 0x71, 0x13, 0x40, ...new Uint8Array(64)])), 'b' + base32.baseEncode(new Uint8Array([1, 0xf1, 0x00, 0x12, 0x20, ...new Uint8Array(32)])),
  'b' + base32.baseEncode(new Uint8Array([1, 0x71, 0x00, 0x00])), 'b' + base32.baseEncode(new Uint8Array([1, 0x90, 0x03, 0x12, 0x20, ...new Uint8Array(32)])),
  'b' + base32.baseEncode(new Uint8Array([0x81, 0x00, 0x71, 0x12, 0x20, ...new Uint8Array(32)]))]
function judgeCidText (s) {
  try {
    const parsed = CID.parse(s, anyBase)
    // CID.parse caches `s` as the text form of the CID it returns; judge canonical form on a
    // fresh CID built from the bytes instead.
    const cid = CID.decode(parsed.bytes)
    const base = s[0] === 'Q' ? base58btc : byPrefix.get(s[0])
    const canonical = cid.version === 0 ? s === cid.toString() : cid.toString(base.encoder) === s
    return { ok: true, cid, canonical, ourBase: s[0] === 'Q' || Object.values(OUR_BASES).includes(base), sizeNote: digestSizeNote(cid) }
  } catch (e) {
    return { ok: false, why: e.message }
  }
}
// multiformats does not check digest sizes against the hash function: a sha2-256 multihash
// with a 33-byte digest (impossible) or a 31-byte one (a truncated hash, which the multihash
// spec allows but codec.h refuses) parses there. Returns a description for such CIDs.
function digestSizeNote (cid) {
  if (cid.multihash.code === 0x12 && cid.multihash.size !== 32) return `sha2-256 digest of ${cid.multihash.size} bytes`
  if (cid.multihash.code === 0xb220 && cid.multihash.size !== 32) return `blake2b-256 digest of ${cid.multihash.size} bytes`
  return null
}

// Codes and lengths we deliberately do not accept (codec.h): the CID is valid for multiformats,
// but names a codec / hash we do not implement, or a sha2-256 digest of the wrong size.
const SCOPE_ERRORS = new Set(['unsupported', 'wrong-length', 'limit-exceeded'])
{
  const cases = [...CID_EDGE]
  for (let i = 0; i < 600; i++) {
    const { cid } = rng.pick(cids)
    cases.push(mutateString(cid.version === 0 ? cid.toString() : cid.toString(rng.pick(Object.values(OUR_BASES)).encoder)))
  }
  const out = runTool(tool, ['cid-parse'], cases)
  cases.forEach((s, i) => {
    const js = judgeCidText(s)
    const err = parseErr(out[i])
    const shown = JSON.stringify(s)
    if (!js.ok) {
      ck.check('cid text js-rejects', err !== null, `we accept ${shown} (-> ${out[i]}), multiformats rejects: ${js.why}`)
    } else if (err) {
      if (!js.ourBase) ck.note('cid: base we do not implement', `${shown} -> ${err.code}`)
      else if (!js.canonical) ck.note('cid: non-canonical text for JS, we reject', `${shown} -> ${err.code}`)
      else if (js.sizeNote) ck.note('cid: multiformats ignores digest sizes, we reject', `${js.sizeNote}: ${shown} -> ${err.code}`)
      else if (SCOPE_ERRORS.has(err.code)) ck.note('cid: valid for multiformats, outside our codec/hash set', `${shown} -> ${err.code}: ${err.message}`)
      else ck.check('cid text js-canonical', false, `we reject ${shown} (${out[i]}), multiformats parses it to ${toHex(js.cid.bytes)}`)
    } else {
      ck.check(js.canonical ? 'cid text js-canonical' : 'cid text non-canonical', out[i].split(' ')[0] === toHex(js.cid.bytes),
        `we parse ${shown} to ${out[i]}, multiformats to ${toHex(js.cid.bytes)}`)
      if (!js.canonical) ck.note('cid: non-canonical text for JS, we accept', shown)
    }
  })
}
{
  const cases = [[], [0x12], [0x12, 0x20], [1], [1, 0x71], [0, 0x71, 0x12, 0x20, ...new Uint8Array(32)]].map((b) => new Uint8Array(b))
  for (let i = 0; i < 600; i++) {
    const b = Array.from(rng.pick(cids).cid.bytes)
    const at = rng.int(Math.min(b.length, 6)) // mostly the header varints
    switch (rng.int(4)) {
      case 0: b[at] = rng.int(256); break
      case 1: b.splice(at, 0, rng.int(256)); break
      case 2: b.length -= 1 + rng.int(2); break
      default: b.push(rng.int(256))
    }
    cases.push(new Uint8Array(b))
  }
  const out = runTool(tool, ['cid-format', 'default'], cases.map(toHex))
  cases.forEach((b, i) => {
    let js
    try { js = CID.decode(b) } catch (e) { js = e.message }
    const err = parseErr(out[i])
    if (!(js instanceof CID)) {
      ck.check('cid bytes js-rejects', err !== null, `we accept bytes ${toHex(b)} (-> ${out[i]}), multiformats rejects: ${js}`)
    } else if (err) {
      if (!bytesEqual(js.bytes, b)) ck.note('cid: bytes multiformats reads as another CID, we reject', `${toHex(b).slice(0, 24)}… (read as ${toHex(js.bytes).slice(0, 16)}…) -> ${err.code}`)
      else if (digestSizeNote(js)) ck.note('cid: multiformats ignores digest sizes, we reject', `${digestSizeNote(js)}: ${toHex(b).slice(0, 24)}… -> ${err.code}`)
      else if (SCOPE_ERRORS.has(err.code)) ck.note('cid: valid for multiformats, outside our codec/hash set', `${toHex(b)} -> ${err.code}`)
      else ck.check('cid bytes js-accepts', false, `we reject bytes ${toHex(b)} (${out[i]}), multiformats reads ${js}`)
    } else {
      ck.check('cid bytes js-accepts', out[i] === js.toString(), `bytes ${toHex(b)}: we say ${out[i]}, multiformats ${js}`)
    }
  })
}

ck.finish()
