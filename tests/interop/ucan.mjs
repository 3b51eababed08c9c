// Interop: Aether's capability tokens (src/cap: mintToken, delegateToken, TokenVerifier) against
// @ucans/ucans 0.12.0 (ts-ucan, UCAN 0.8.1 JWTs).
//
// 1. Our attenuation rule (cap::covers) against the same rule written as the library's
//    DelegationSemantics plugin (AETHER below), on random capability pairs: the plugin is how the
//    library validates our tokens, so it must agree with our covers() exactly.
// 2. ours -> library: a root token and a 2-level delegation chain we mint must validate with
//    ucans.validate / ucans.verify (did:key resolution is the library's ed25519 plugin); the
//    token CIDs we compute must match multiformats'; tampering, expiry, nbf, widening,
//    revocation and a wrong root must fail on both sides.
// 3. library -> ours: tokens built by the library with its own Ed25519 keys (EdKeypair) must
//    verify with ours, alone and mixed with our delegations, and the same failures must fail.
// 4. random chains built by the library, each judged by both verifiers.
// Known differences are printed as notes (see docs/formats/ucan.md#interop).

import { createPrivateKey, createPublicKey } from 'node:crypto'
import * as ucans from '@ucans/ucans'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { Checker, Rng, parseErr, pickSeed, runTool, toolPath, toHex } from './lib/harness.mjs'

const tool = toolPath()
const ck = new Checker('ucan')
const rng = new Rng(pickSeed('ucan'))
const now = Math.floor(Date.now() / 1000)

// ---- our capability semantics as a ts-ucan DelegationSemantics --------------------------------
// docs/capabilities.md: the right is equal or the parent's is "<ns>/*"; the resource is equal, or
// the parent's ends in "*" and the child's starts with everything before that "*".
const AETHER = {
  canDelegateResource (parent, child) {
    const p = `${parent.scheme}:${parent.hierPart}`
    const c = `${child.scheme}:${child.hierPart}`
    if (p.endsWith('*')) return c.startsWith(p.slice(0, -1))
    return !c.endsWith('*') && p === c
  },
  canDelegateAbility (parent, child) {
    if (parent === ucans.SUPERUSER || child === ucans.SUPERUSER) return false
    if (parent.namespace !== child.namespace) return false
    if (parent.segments.length !== 1 || child.segments.length !== 1) return false
    return parent.segments[0] === '*' || parent.segments[0] === child.segments[0]
  }
}

// Our (right, resource) -> UCAN {with, can} (docs/formats/ucan.md), written out independently.
function toUcan ([right, resource]) {
  const [ns, ability] = right.split('.')
  return { with: ns === 'http' ? resource : `${ns}:${resource}`, can: `${ns}/${ability}` }
}
const ucanCap = (c) => ucans.capability.parse(toUcan(c))
const jsCovers = (g, r) => {
  const a = ucanCap(g)
  const b = ucanCap(r)
  return AETHER.canDelegateResource(a.with, b.with) && AETHER.canDelegateAbility(a.can, b.can)
}

// ---- random capabilities (normal forms only) --------------------------------------------------
const ABILITIES = {
  kv: ['read', 'write', 'delete', 'list'],
  fs: ['read', 'write', 'delete', 'list'],
  http: ['get', 'head', 'post', 'put', 'patch', 'delete'],
  net: ['dial', 'listen'],
  pubsub: ['publish', 'subscribe']
}
const SEGS = ['a', 'b', 'ab', 'x.y', '1.0.0']
const HOSTS = ['https://api.example.org', 'https://example.org', 'http://127.0.0.1:8080', 'https://api.example.org:8443']

function randSegs (min, max) {
  const n = min + rng.int(max - min + 1)
  return Array.from({ length: n }, () => rng.pick(SEGS))
}
function randResource (ns) {
  const glob = rng.int(3) === 0
  switch (ns) {
    case 'kv':
    case 'pubsub': {
      const s = randSegs(glob ? 0 : 1, 3)
      return s.length === 0 ? '*' : s.join('/') + (glob ? '/*' : '')
    }
    case 'fs': {
      const s = randSegs(0, 3)
      return '/' + s.join('/') + (glob ? (s.length ? '/*' : '*') : '')
    }
    case 'net': {
      const s = randSegs(glob ? 0 : 1, 3)
      return '/' + s.join('/') + (glob ? (s.length ? '/*' : '*') : '')
    }
    default: {
      const s = randSegs(0, 2)
      const tail = glob ? (s.length ? '/*' : '*') : (rng.int(4) === 0 && s.length ? '/' : '')
      return rng.pick(HOSTS) + '/' + s.join('/') + tail
    }
  }
}
function randCap (ns = rng.pick(Object.keys(ABILITIES))) {
  const ability = rng.int(5) === 0 ? '*' : rng.pick(ABILITIES[ns])
  return [`${ns}.${ability}`, randResource(ns)]
}
// Something `c` covers (or c itself).
function narrow ([right, resource]) {
  const [ns, ability] = right.split('.')
  const r = ability === '*' && rng.bool() ? `${ns}.${rng.pick(ABILITIES[ns])}` : right
  if (!resource.endsWith('*') || rng.int(4) === 0) return [r, resource]
  const base = resource.slice(0, -1) // ends in '/' or is empty
  const s = randSegs(1, 2).join('/')
  return [r, base + s + (rng.bool() ? '/*' : '')]
}

// ---- keys, tokens, CIDs -----------------------------------------------------------------------

// A seed-derived key usable on both sides: our driver signs with the seed, the library with
// EdKeypair.fromSecretKey(seed || public key).
function keyFromSeed (seed) {
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seed)])
  const jwk = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })).export({ format: 'jwk' })
  const secret = Buffer.concat([Buffer.from(seed), Buffer.from(jwk.x, 'base64url')])
  const kp = ucans.EdKeypair.fromSecretKey(secret.toString('base64'))
  return { seedHex: toHex(seed), kp, did: kp.did() }
}
// A key the library generates; its exported secret gives our driver the seed.
async function libraryKey () {
  const kp = await ucans.EdKeypair.create({ exportable: true })
  const secret = Buffer.from(await kp.export(), 'base64')
  return { seedHex: toHex(secret.subarray(0, 32)), kp, did: kp.did() }
}

async function cidOf (token) {
  return CID.create(1, raw.code, await sha256.digest(new TextEncoder().encode(token))).toString()
}

function tamper (token, segment) {
  const parts = token.split('.')
  const b = Buffer.from(parts[segment], 'base64url')
  b[rng.int(b.length)] ^= 1 << rng.int(8)
  parts[segment] = b.toString('base64url')
  return parts.join('.')
}

// One driver call per list of requests.
const mint = (reqs) => runTool(tool, ['ucan-mint'], reqs.map((r) => JSON.stringify(r)))
const delegate = (reqs) => runTool(tool, ['ucan-delegate'], reqs.map((r) => JSON.stringify(r)))
const parse = (tokens) => runTool(tool, ['ucan-parse'], tokens)
const verifyOurs = (reqs) => runTool(tool, ['ucan-verify'], reqs.map((r) => JSON.stringify({ now, ...r })))
const one = (f, req) => f([req])[0]

async function libVerify (token, { audience, caps, root, semantics = AETHER, revoked = new Set(), revokedNonces = new Set() }) {
  const r = await ucans.verify(token, {
    audience,
    requiredCapabilities: caps.map((c) => ({ capability: ucanCap(c), rootIssuer: root })),
    semantics,
    isRevoked: async (u) => revoked.has(await cidOf(ucans.encode(u))) ||
      (u.payload.nnc != null && revokedNonces.has(`${u.payload.iss} ${u.payload.nnc}`))
  })
  return r.ok ? { ok: true } : { ok: false, why: r.error.map((e) => e.message.slice(0, 160)).join(' | ') }
}
async function libValidate (token) {
  try {
    await ucans.validate(token)
    return { ok: true }
  } catch (e) {
    return { ok: false, why: e.message.slice(0, 160) }
  }
}

// ---- 1. semantics agreement -------------------------------------------------------------------
{
  const pairs = []
  for (let i = 0; i < 600; i++) {
    const g = randCap()
    const r = i % 2 ? narrow(g) : randCap(rng.bool() ? g[0].split('.')[0] : undefined)
    pairs.push([g, r])
  }
  const out = runTool(tool, ['cap-covers'], pairs.map(([g, r]) => `${g[0]} ${g[1]} ${r[0]} ${r[1]}`))
  let truths = 0
  pairs.forEach(([g, r], i) => {
    const js = jsCovers(g, r)
    truths += js ? 1 : 0
    ck.check('covers: ours == library plugin', out[i] === String(js), `${g.join(' ')} covers ${r.join(' ')}: ours ${out[i]}, plugin ${js}`)
  })
  ck.check('covers: both outcomes exercised', truths > 100 && truths < 500, `${truths} of 600 pairs covered`)
}

// ---- 2. ours -> library -----------------------------------------------------------------------
{
  const [node, a1, a2, a3] = [0, 1, 2, 3].map(() => keyFromSeed(rng.bytes(32)))
  const rootCaps = [['kv.write', 'app/*'], ['http.get', 'https://api.example.org/*'], ['fs.*', '/data/*']]
  const root = one(mint, { seed: node.seedHex, aud: a1.did, caps: rootCaps, exp: now + 3600 })
  const d1 = one(delegate, { parent: root, seed: a1.seedHex, aud: a2.did, caps: [['kv.write', 'app/notes/*'], ['fs.read', '/data/x/*']], exp: now + 1800 })
  const d2 = one(delegate, { parent: d1, seed: a2.seedHex, aud: a3.did, caps: [['kv.write', 'app/notes/today']], exp: now + 900 })
  for (const [name, t] of [['root', root], ['d1', d1], ['d2', d2]]) {
    if (!ck.check('ours mints', parseErr(t) === null, `${name}: ${t}`)) ck.finish()
  }

  // Each link on its own: signature, header, time bounds (ucans.validate).
  for (const [name, t, iss, aud, caps] of [['root', root, node, a1, rootCaps], ['d1', d1, a1, a2, null], ['d2', d2, a2, a3, null]]) {
    const v = await libValidate(t)
    ck.check('ours -> ucans.validate', v.ok, `${name}: ${v.why}`)
    const { header, payload } = ucans.parse(t)
    ck.check('ours -> library reads header', header.alg === 'EdDSA' && header.typ === 'JWT' &&
      `${header.ucv.major}.${header.ucv.minor}.${header.ucv.patch}` === '0.8.1', `${name}: ${JSON.stringify(header)}`)
    ck.check('ours -> library reads payload', payload.iss === iss.did && payload.aud === aud.did && typeof payload.nnc === 'string' &&
      Array.isArray(payload.prf), `${name}: ${JSON.stringify(payload)}`)
    if (caps) {
      const got = payload.att.map((c) => ucans.capability.encode(c)).map((c) => `${c.with} ${c.can}`)
      const want = caps.map(toUcan).map((c) => `${c.with} ${c.can}`)
      ck.check('ours -> library reads att (our mapping)', JSON.stringify(got) === JSON.stringify(want), `${name}: ${JSON.stringify(got)}`)
    }
  }
  ck.check('ours -> library: prf holds the parent token', ucans.parse(d2).payload.prf[0] === d1 && ucans.parse(d1).payload.prf[0] === root, 'prf')

  // CIDs (revocation ids): ours vs multiformats.
  const parsed = parse([root, d1, d2]).map((l) => JSON.parse(l))
  const cids = [await cidOf(root), await cidOf(d1), await cidOf(d2)]
  parsed.forEach((p, i) => ck.check('token CID: ours == multiformats', p.cid === cids[i], `${p.cid} vs ${cids[i]}`))

  // The whole chain: the library's verify with our semantics, and ours.
  const want = [['kv.write', 'app/notes/today']]
  const lib = await libVerify(d2, { audience: a3.did, caps: want, root: node.did })
  ck.check('ours chain -> ucans.verify', lib.ok, `d2: ${lib.why}`)
  const lib1 = await libVerify(d1, { audience: a2.did, caps: [['fs.read', '/data/x/y'], ['kv.write', 'app/notes/a/b']], root: node.did })
  ck.check('ours chain -> ucans.verify', lib1.ok, `d1: ${lib1.why}`)
  const ours = verifyOurs([
    { token: d2, roots: [node.did], holder: a3.did, caps: want },
    { token: d1, roots: [node.did], holder: a2.did, caps: [['fs.read', '/data/x/y']] }
  ])
  ck.check('ours chain -> ours', ours[0] === `ok ${node.did}` && ours[1] === `ok ${node.did}`, ours.join(' / '))
  const eq = await libVerify(d2, { audience: a3.did, caps: want, root: node.did, semantics: ucans.equalCanDelegate })
  if (!eq.ok) ck.note('library default semantics (equality) cannot follow attenuation; we pass AETHER', 'equalCanDelegate rejects d2')

  // Failures on both sides.
  const bothReject = async (label, token, { audience, caps, rootIssuer = node.did, roots = [node.did], revoked, revokedNonces, expectFault }) => {
    const l = await libVerify(token, { audience, caps, root: rootIssuer, revoked, revokedNonces })
    ck.check(`${label}: library rejects`, !l.ok, `${label}: library accepts`)
    const o = one(verifyOurs, {
      token, roots, holder: audience, caps,
      revokedCids: revoked ? [...revoked] : [],
      revokedNonces: revokedNonces ? [...revokedNonces].map((s) => s.split(' ')) : []
    })
    const e = parseErr(o)
    ck.check(`${label}: ours rejects`, e !== null && (!expectFault || e.message.startsWith(expectFault)), `${label}: ours -> ${o}`)
  }
  await bothReject('not granted', d2, { audience: a3.did, caps: [['kv.write', 'app/notes/tomorrow']], expectFault: 'not-granted' })
  const stranger = keyFromSeed(rng.bytes(32))
  await bothReject('wrong root', d2, { audience: a3.did, caps: want, rootIssuer: stranger.did, roots: [stranger.did], expectFault: 'untrusted-root' })
  // Documented difference: the library lets any issuer in the chain be the "root" of what it
  // delegates (UCAN parenthood); we require every link, proofs of trusted issuers included, to
  // lead to a trusted root.
  const mid = await libVerify(d2, { audience: a3.did, caps: want, root: a1.did })
  const midOurs = one(verifyOurs, { token: d2, roots: [a1.did], holder: a3.did, caps: want })
  ck.check('middle issuer as root: ours rejects', parseErr(midOurs)?.message.startsWith('untrusted-root'), midOurs)
  if (mid.ok) ck.note('library accepts a middle issuer as root (parenthood); we refuse a chain whose proofs are not rooted in the trusted set', 'rootIssuer = d1 issuer')
  for (const seg of [0, 1, 2]) {
    await bothReject(`tampered segment ${seg}`, tamper(d2, seg), { audience: a3.did, caps: want })
  }
  await bothReject('revoked middle link (CID)', d2, { audience: a3.did, caps: want, revoked: new Set([cids[1]]), expectFault: 'revoked' })
  await bothReject('revoked root (CID)', d2, { audience: a3.did, caps: want, revoked: new Set([cids[0]]), expectFault: 'revoked' })
  await bothReject('revoked middle link (iss, nnc)', d2, { audience: a3.did, caps: want, revokedNonces: new Set([`${a1.did} ${parsed[1].nnc}`]), expectFault: 'revoked' })

  // A valid signature over a tampered proof.
  const badProof = ucans.encode(await ucans.build({ issuer: a2.kp, audience: a3.did, capabilities: [ucanCap(want[0])], proofs: [tamper(d1, 1)], expiration: now + 900 }))
  await bothReject('tampered proof', badProof, { audience: a3.did, caps: want })

  // Widening: our delegate refuses; the library builds it, and both verifiers reject it.
  const widen = delegate([
    { parent: d1, seed: a2.seedHex, aud: a3.did, caps: [['kv.*', 'app/notes/*']], exp: now + 900 },
    { parent: d1, seed: a2.seedHex, aud: a3.did, caps: [['kv.write', 'app/*']], exp: now + 900 },
    { parent: d1, seed: a2.seedHex, aud: a3.did, caps: [['kv.write', 'app/notes/x']], exp: now + 1801 }
  ])
  widen.forEach((w, i) => ck.check('ours refuses to widen', parseErr(w)?.code === 'permission-denied', `#${i}: ${w}`))
  for (const c of [['kv.*', 'app/notes/*'], ['kv.write', 'app/*'], ['http.get', 'https://api.example.org/*']]) {
    const t = ucans.encode(await ucans.build({ issuer: a2.kp, audience: a3.did, capabilities: [ucanCap(c)], proofs: [d1], expiration: now + 900 }))
    await bothReject(`widened ${c.join(' ')}`, t, { audience: a3.did, caps: [c], expectFault: 'attenuation' })
  }

  // Expiry and nbf.
  const timed = mint([
    { seed: node.seedHex, aud: a1.did, caps: rootCaps, exp: now - 5 },
    { seed: node.seedHex, aud: a1.did, caps: rootCaps, exp: now + 3600, nbf: now + 1800 }
  ])
  const expiredLeaf = one(delegate, { parent: root, seed: a1.seedHex, aud: a2.did, caps: [['kv.write', 'app/x']], exp: now - 5 })
  for (const [label, t, aud, fault] of [['expired root', timed[0], a1, 'expired'], ['nbf in the future', timed[1], a1, 'not-yet-valid'],
    ['expired delegation', expiredLeaf, a2, 'expired']]) {
    const v = await libValidate(t)
    ck.check(`${label}: ucans.validate rejects`, !v.ok, `${label}: accepted`)
    await bothReject(label, t, { audience: aud.did, caps: [['kv.write', 'app/x']], expectFault: fault })
  }
  // Our verifier at a later time sees the chain expire (the library reads the wall clock).
  const later = one(verifyOurs, { token: d2, roots: [node.did], holder: a3.did, caps: want, now: now + 901 })
  ck.check('ours: chain expires with the leaf', parseErr(later)?.message.startsWith('expired'), later)

  // Known library quirk: a proof with nbf fails its (inverted) time-bounds check.
  const withNbf = one(mint, { seed: node.seedHex, aud: a1.did, caps: rootCaps, exp: now + 3600, nbf: now - 60 })
  const child = one(delegate, { parent: withNbf, seed: a1.seedHex, aud: a2.did, caps: [['kv.write', 'app/x']], exp: now + 1800 })
  const ln = await libVerify(child, { audience: a2.did, caps: [['kv.write', 'app/x']], root: node.did })
  const on = one(verifyOurs, { token: child, roots: [node.did], holder: a2.did, caps: [['kv.write', 'app/x']] })
  ck.check('proof with nbf: ours accepts', on === `ok ${node.did}`, on)
  if (!ln.ok) ck.note('library rejects any proof that has nbf (validateProofs compares exp > nbf the wrong way)', ln.why)
  else ck.check('proof with nbf: library accepts', true, '')
}

// ---- 3. library -> ours -----------------------------------------------------------------------
{
  const [node, b1, b2, b3] = await Promise.all([0, 1, 2, 3].map(() => libraryKey()))
  const cap = (c) => ucanCap(c)
  const lroot = ucans.encode(await ucans.build({
    issuer: node.kp, audience: b1.did, capabilities: [cap(['kv.write', 'app/*']), cap(['http.get', 'https://api.example.org/*'])],
    expiration: now + 3600, addNonce: true, facts: [{ purpose: 'interop' }]
  }))
  const ld1 = ucans.encode(await ucans.build({
    issuer: b1.kp, audience: b2.did, capabilities: [cap(['kv.write', 'app/notes/*'])], proofs: [lroot], expiration: now + 1800, addNonce: true
  }))
  // The Builder API, delegating with our semantics from a DelegationChain.
  const ld2 = ucans.encode(await ucans.Builder.create().issuedBy(b2.kp).toAudience(b3.did).withExpiration(now + 900).withNonce()
    .delegateCapability(cap(['kv.write', 'app/notes/today']), { capability: cap(['kv.write', 'app/notes/*']), ucan: await ucans.validate(ld1) }, AETHER)
    .build())
  const want = [['kv.write', 'app/notes/today']]
  const lib = await libVerify(ld2, { audience: b3.did, caps: want, root: node.did })
  ck.check('library chain -> ucans.verify (sanity)', lib.ok, lib.why)

  const parsed = parse([lroot, ld1, ld2])
  const expectIss = [node, b1, b2]
  const expectAud = [b1, b2, b3]
  for (let i = 0; i < 3; i++) {
    const e = parseErr(parsed[i])
    if (!ck.check('library -> ours parses', e === null, `${i}: ${parsed[i]}`)) continue
    const p = JSON.parse(parsed[i])
    const lp = ucans.parse([lroot, ld1, ld2][i]).payload
    ck.check('library -> ours reads fields', p.iss === expectIss[i].did && p.aud === expectAud[i].did && p.exp === lp.exp &&
      p.nnc === lp.nnc && p.prf === lp.prf.length, `${i}: ${parsed[i]}`)
    const ourAtt = p.att.map((c) => `${c.with} ${c.can}`)
    const libAtt = lp.att.map((c) => ucans.capability.encode(c)).map((c) => `${c.with} ${c.can}`)
    ck.check('library -> ours reads att', JSON.stringify(ourAtt) === JSON.stringify(libAtt), `${i}: ${parsed[i]}`)
  }
  const ours = verifyOurs([
    { token: ld2, roots: [node.did], holder: b3.did, caps: want },
    { token: ld1, roots: [node.did], holder: b2.did, caps: [['kv.write', 'app/notes/x/y']] },
    { token: lroot, roots: [node.did], holder: b1.did, caps: [['http.get', 'https://api.example.org/v1']] }
  ])
  ours.forEach((o, i) => ck.check('library chain -> ours', o === `ok ${node.did}`, `#${i}: ${o}`))

  // Mixed: we delegate from the library's token with the library-generated key.
  const mixed = one(delegate, { parent: ld1, seed: b2.seedHex, aud: b3.did, caps: want, exp: now + 600 })
  const lm = await libVerify(mixed, { audience: b3.did, caps: want, root: node.did })
  ck.check('mixed chain (library root, our delegation) -> ucans.verify', lm.ok, lm.why ?? mixed)
  const om = one(verifyOurs, { token: mixed, roots: [node.did], holder: b3.did, caps: want })
  ck.check('mixed chain -> ours', om === `ok ${node.did}`, om)

  const oursRejects = (label, token, holder, caps, expectFault, extra = {}) => {
    const o = one(verifyOurs, { token, roots: [node.did], holder, caps, ...extra })
    const e = parseErr(o)
    ck.check(`library-built ${label}: ours rejects`, e !== null && (!expectFault || e.message.startsWith(expectFault)), `${label}: ${o}`)
  }
  const libRejects = async (label, token, audience, caps, opts = {}) => {
    const l = await libVerify(token, { audience, caps, root: node.did, ...opts })
    ck.check(`library-built ${label}: library rejects`, !l.ok, `${label}: library accepts`)
  }
  for (const seg of [0, 1, 2]) {
    const t = tamper(ld2, seg)
    oursRejects(`tampered segment ${seg}`, t, b3.did, want)
    await libRejects(`tampered segment ${seg}`, t, b3.did, want)
  }
  const expired = ucans.encode(await ucans.build({ issuer: node.kp, audience: b1.did, capabilities: [cap(['kv.write', 'app/*'])], expiration: now - 5 }))
  oursRejects('expired', expired, b1.did, [['kv.write', 'app/x']], 'expired')
  await libRejects('expired', expired, b1.did, [['kv.write', 'app/x']])
  const early = ucans.encode(await ucans.build({ issuer: node.kp, audience: b1.did, capabilities: [cap(['kv.write', 'app/*'])], expiration: now + 3600, notBefore: now + 1800 }))
  oursRejects('nbf in the future', early, b1.did, [['kv.write', 'app/x']], 'not-yet-valid')
  await libRejects('nbf in the future', early, b1.did, [['kv.write', 'app/x']])
  for (const c of [['kv.*', 'app/*'], ['kv.write', '*'], ['kv.delete', 'app/notes/x']]) {
    const t = ucans.encode(await ucans.build({ issuer: b1.kp, audience: b2.did, capabilities: [cap(c)], proofs: [lroot], expiration: now + 1800 }))
    oursRejects(`widened ${c.join(' ')}`, t, b2.did, [c], 'attenuation')
    await libRejects(`widened ${c.join(' ')}`, t, b2.did, [c])
  }
  const stranger = await libraryKey()
  oursRejects('untrusted root', ld2, b3.did, want, 'untrusted-root', { roots: [stranger.did] })
  await libRejects('untrusted root', ld2, b3.did, want, { root: stranger.did })
  const revoked = await cidOf(ld1)
  oursRejects('revoked middle link', ld2, b3.did, want, 'revoked', { revokedCids: [revoked] })
  await libRejects('revoked middle link', ld2, b3.did, want, { revoked: new Set([revoked]) })
  const stolen = ucans.encode(await ucans.build({ issuer: b3.kp, audience: b2.did, capabilities: [cap(['kv.write', 'app/notes/x'])], proofs: [ld1], expiration: now + 600 }))
  oursRejects('proof addressed to someone else', stolen, b2.did, [['kv.write', 'app/notes/x']], 'broken-chain')
  await libRejects('proof addressed to someone else', stolen, b2.did, [['kv.write', 'app/notes/x']])

  // Documented difference: a child that outlives its proof.
  const outlives = ucans.encode(await ucans.build({ issuer: b1.kp, audience: b2.did, capabilities: [cap(['kv.write', 'app/x'])], proofs: [lroot], expiration: now + 7200 }))
  oursRejects('child outliving its proof', outlives, b2.did, [['kv.write', 'app/x']], 'broken-chain')
  const lo = await libVerify(outlives, { audience: b2.did, caps: [['kv.write', 'app/x']], root: node.did })
  if (lo.ok) ck.note('library accepts a delegation that expires after its proof; we refuse (broken-chain)', 'exp > proof exp')
}

// ---- 4. random chains built by the library -----------------------------------------------------
{
  const [node, b1, b2] = await Promise.all([0, 1, 2].map(() => libraryKey()))
  const cases = []
  for (let i = 0; i < 80; i++) {
    const rootCaps = [randCap(), randCap()]
    const childCaps = Array.from({ length: 1 + rng.int(2) }, () => rng.int(10) < 7 ? narrow(rng.pick(rootCaps)) : randCap())
    const required = rng.int(4) === 0 ? randCap() : rng.pick(childCaps)
    const root = ucans.encode(await ucans.build({ issuer: node.kp, audience: b1.did, capabilities: rootCaps.map(ucanCap), expiration: now + 3600 }))
    const child = ucans.encode(await ucans.build({ issuer: b1.kp, audience: b2.did, capabilities: childCaps.map(ucanCap), proofs: [root], expiration: now + 1800 }))
    const coveredByRoot = (c) => rootCaps.some((r) => jsCovers(r, c))
    // The library proves one capability at a time; we refuse a token with any capability its
    // proofs do not cover (docs/formats/ucan.md#verification).
    const libExpect = childCaps.some((c) => coveredByRoot(c) && jsCovers(c, required))
    const ourExpect = childCaps.every(coveredByRoot) && childCaps.some((c) => jsCovers(c, required))
    cases.push({ child, required, rootCaps, childCaps, libExpect, ourExpect })
  }
  const out = verifyOurs(cases.map((c) => ({ token: c.child, roots: [node.did], holder: b2.did, caps: [c.required] })))
  let disagreements = 0
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i]
    const l = await libVerify(c.child, { audience: b2.did, caps: [c.required], root: node.did })
    const label = `root ${JSON.stringify(c.rootCaps)} child ${JSON.stringify(c.childCaps)} required ${c.required.join(' ')}`
    ck.check('random chains: library', l.ok === c.libExpect, `${label}: library ${l.ok} (${l.why ?? ''}), expected ${c.libExpect}`)
    ck.check('random chains: ours', (out[i] === `ok ${node.did}`) === c.ourExpect, `${label}: ours ${out[i]}, expected ${c.ourExpect}`)
    if (c.libExpect !== c.ourExpect) disagreements++
  }
  if (disagreements) ck.note('library accepts a token whose other capabilities are not covered; we refuse the whole token', `${disagreements} of ${cases.length} random chains`)
}

ck.finish()
