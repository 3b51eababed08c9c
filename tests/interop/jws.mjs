// JWS interop: Aether's compact EdDSA JWS against jose (and Node's OpenSSL for the key).
//
//  - ours -> jose: the driver signs random payloads with random seeds (`jws-sign`). Node's
//    crypto derives the public key from the seed; the JWK built from it must be the x we print,
//    and jose.compactVerify must accept our JWS with that key and return our payload. Ed25519
//    is deterministic, so OpenSSL's signature over our signing input must equal ours.
//    Tampered copies (payload, header or signature changed) must fail in jose and with us.
//  - jose -> ours: jose generates Ed25519 keys and signs ({alg: EdDSA}, with and without typ /
//    kid); we must verify (`jws-verify`) and return the payload; tampered copies, a wrong key,
//    alg none / HS256 and unknown crit headers must be rejected by us, as jose rejects them.
//
// usage: node jws.mjs /path/to/aether_interop_tool   (INTEROP_SEED=n to replay)

import { createPrivateKey, createPublicKey, sign as nodeSign } from 'node:crypto'
import * as jose from 'jose'
import { Checker, Rng, b64url, bytesEqual, parseErr, pickSeed, runTool, toHex, toolPath } from './lib/harness.mjs'

const tool = toolPath()
const seed = pickSeed('jws')
const rng = new Rng(seed)
const ck = new Checker('jws')

function nodeKeys (seedBytes) {
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seedBytes)])
  const priv = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
  const jwk = createPublicKey(priv).export({ format: 'jwk' })
  return { priv, jwk, pub: new Uint8Array(Buffer.from(jwk.x, 'base64url')) }
}

// Flip one bit of one decoded segment (0 header, 1 payload, 2 signature) and re-encode it, so
// the change is real (editing a base64url character can hit only padding bits).
function tamper (jws, segment) {
  const parts = jws.split('.')
  const b = Buffer.from(parts[segment], 'base64url')
  if (b.length === 0) {
    parts[segment] = b64url(Buffer.from([rng.int(256)]))
  } else {
    b[rng.int(b.length)] ^= 1 << rng.int(8)
    parts[segment] = b64url(b)
  }
  return parts.join('.')
}

function sortKeys (v) {
  if (Array.isArray(v)) return v.map(sortKeys)
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]))
  return v
}

async function joseVerify (jws, jwk) {
  try {
    const { payload, protectedHeader } = await jose.compactVerify(jws, await jose.importJWK(jwk, 'EdDSA'))
    return { ok: true, payload, protectedHeader }
  } catch (e) {
    return { ok: false, why: e.code ?? e.message }
  }
}

function randPayload () {
  switch (rng.int(3)) {
    case 0: return rng.bytes(rng.int(200))
    case 1: return new TextEncoder().encode(JSON.stringify({ iss: 'did:key:z6Mk', n: rng.int(1e9), s: 'é✓🚀' }))
    default: return new Uint8Array(0)
  }
}

// ---- ours -> jose ----------------------------------------------------------------------------

const ourSigned = []
{
  const inputs = []
  const EXTRAS = [null, { kid: 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK' },
    { typ: 'JWT', kid: 'k-1' }, { cty: 'application/json', 'x-é': ['✓', 1, { z: null }] }]
  for (let i = 0; i < 100; i++) inputs.push({ seed: rng.bytes(32), payload: i === 0 ? new Uint8Array(0) : randPayload(), extra: EXTRAS[i % EXTRAS.length] })
  const out = runTool(tool, ['jws-sign'], inputs.map(({ seed, payload, extra }) =>
    `${toHex(seed)} ${toHex(payload)}${extra ? ' ' + b64url(Buffer.from(JSON.stringify(extra))) : ''}`))
  for (let i = 0; i < inputs.length; i++) {
    const { seed, payload, extra } = inputs[i]
    const label = `seed ${toHex(seed)} payload ${toHex(payload).slice(0, 32)}`
    let r
    try { r = JSON.parse(out[i]) } catch { ck.check('ours->jose', false, `${label}: driver printed ${out[i]}`); continue }
    const { priv, jwk, pub } = nodeKeys(seed)
    ck.check('ours->jose', r.publicKeyHex === toHex(pub), `${label}: our public key ${r.publicKeyHex}, OpenSSL ${toHex(pub)}`)
    ck.check('ours->jose', r.jwkX === jwk.x, `${label}: our JWK x ${r.jwkX}, OpenSSL ${jwk.x}`)
    const v = await joseVerify(r.jws, jwk)
    if (!ck.check('ours->jose', v.ok, `${label}: jose rejects our JWS ${r.jws}: ${v.why}`)) continue
    ck.check('ours->jose', bytesEqual(v.payload, payload), `${label}: jose reads payload ${toHex(v.payload)}`)
    ck.check('ours->jose', JSON.stringify(sortKeys(v.protectedHeader)) === JSON.stringify(sortKeys({ alg: 'EdDSA', ...extra })),
      `${label}: jose reads protected header ${JSON.stringify(v.protectedHeader)}, want alg EdDSA + ${JSON.stringify(extra)}`)
    const [h, p, s] = r.jws.split('.')
    ck.check('ours->jose', p === b64url(payload), `${label}: payload segment ${p}, want ${b64url(payload)}`)
    const expectSig = nodeSign(null, Buffer.from(`${h}.${p}`), priv)
    ck.check('ours->jose', s === b64url(expectSig), `${label}: signature ${s}, OpenSSL ${b64url(expectSig)}`)
    const tampered = []
    for (const seg of [0, 1, 2]) {
      const bad = tamper(r.jws, seg)
      const tv = await joseVerify(bad, jwk)
      if (ck.check('ours tampered, jose rejects', !tv.ok, `jose accepts tampered ${bad}`)) tampered.push(bad)
    }
    ourSigned.push({ jws: r.jws, jwk, pub, tampered })
  }
}

// Our own verifier on our JWS (jose accepted them) and the tampered copies jose rejected.
{
  const lines = []
  const expectOk = []
  for (const { jws, pub, tampered } of ourSigned) {
    lines.push(`${jws} ${toHex(pub)}`); expectOk.push(true)
    for (const bad of tampered) { lines.push(`${bad} ${toHex(pub)}`); expectOk.push(false) }
  }
  const out = runTool(tool, ['jws-verify'], lines)
  out.forEach((line, i) => {
    ck.check(expectOk[i] ? 'ours verifies ours' : 'ours tampered, ours rejects', expectOk[i] ? line.startsWith('ok') : parseErr(line) !== null,
      `jws-verify ${lines[i]} -> ${line}`)
  })
}

// ---- jose -> ours ----------------------------------------------------------------------------

{
  const cases = [] // {line, jwk, jws, label}
  for (let i = 0; i < 100; i++) {
    const { publicKey, privateKey } = await jose.generateKeyPair('EdDSA', { extractable: true })
    const jwk = await jose.exportJWK(publicKey)
    const pubHex = toHex(Buffer.from(jwk.x, 'base64url'))
    const payload = randPayload()
    const header = [{ alg: 'EdDSA' }, { alg: 'EdDSA', typ: 'JWT' }, { alg: 'EdDSA', kid: 'did:key:z6Mk#z6Mk' }][i % 3]
    const jws = await new jose.CompactSign(payload).setProtectedHeader(header).sign(privateKey)
    cases.push({ jws, jwk, pubHex, payload, label: 'jose-signed' })
    for (const seg of [0, 1, 2]) cases.push({ jws: tamper(jws, seg), jwk, pubHex, label: `tampered segment ${seg}` })
    const other = await jose.exportJWK((await jose.generateKeyPair('EdDSA', { extractable: true })).publicKey)
    cases.push({ jws, jwk: other, pubHex: toHex(Buffer.from(other.x, 'base64url')), label: 'wrong key' })
    if (i < 5) {
      const [h, p, s] = jws.split('.')
      const enc = (o) => b64url(Buffer.from(JSON.stringify(o)))
      cases.push({ jws: `${enc({ alg: 'none' })}.${p}.`, jwk, pubHex, label: 'alg none' })
      cases.push({ jws: `${enc({ alg: 'HS256' })}.${p}.${s}`, jwk, pubHex, label: 'alg HS256' })
      cases.push({ jws: `${h}.${p}`, jwk, pubHex, label: 'two segments' })
      cases.push({ jws: `${h}.${p}.${s}.`, jwk, pubHex, label: 'four segments' })
      cases.push({ jws: `${h}.${p}.${s}=`, jwk, pubHex, label: 'padded signature' })
      cases.push({ jws: `${h}.${p}.${s.slice(0, -4)}`, jwk, pubHex, label: 'short signature' })
      const crit = await new jose.CompactSign(payload).setProtectedHeader({ alg: 'EdDSA', crit: ['x-unknown'], 'x-unknown': 1 })
        .sign(privateKey).catch(() => null)
      if (crit) cases.push({ jws: crit, jwk, pubHex, label: 'unknown crit' })
      const full = await new jose.CompactSign(payload).setProtectedHeader({ alg: 'Ed25519' }).sign(privateKey)
      cases.push({ jws: full, jwk, pubHex, label: 'alg Ed25519 (RFC 9864 name)' })
    }
  }
  // Hand-made JWS signed with OpenSSL, for header / encoding corners. jose decides which are
  // valid; where jose is more lenient than our strict parser (jwsParse in identity.h), the
  // case is marked `lenient` and a rejection by us is noted rather than failed.
  {
    const { priv, jwk, pub } = nodeKeys(rng.bytes(32))
    const pubHex = toHex(pub)
    const make = (headerJson, payload = Buffer.from('hi')) => {
      const input = `${b64url(Buffer.from(headerJson))}.${b64url(payload)}`
      return `${input}.${b64url(nodeSign(null, Buffer.from(input), priv))}`
    }
    const bumpLast = (seg) => seg.slice(0, -1) + 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.indexOf(seg.at(-1)) + 1) % 64]
    const good = make('{"alg":"EdDSA"}')
    const [gh, gp, gs] = good.split('.')
    cases.push({ jws: good, jwk, pubHex, label: 'hand-made' })
    cases.push({ jws: make(' { "alg" : "EdDSA" } '), jwk, pubHex, label: 'header with whitespace' })
    cases.push({ jws: make('{"alg":"EdDSA","alg":"EdDSA"}'), jwk, pubHex, label: 'duplicate alg', lenient: true })
    cases.push({ jws: make('{"alg":"EdDSA","alg":"none"}'), jwk, pubHex, label: 'duplicate alg, last none' })
    cases.push({ jws: make('{"alg":"none","alg":"EdDSA"}'), jwk, pubHex, label: 'duplicate alg, first none', lenient: true })
    cases.push({ jws: make('"EdDSA"'), jwk, pubHex, label: 'header is a string' })
    cases.push({ jws: make('[{"alg":"EdDSA"}]'), jwk, pubHex, label: 'header is an array' })
    cases.push({ jws: make('{"alg":"EdDSA"'), jwk, pubHex, label: 'header not JSON' })
    cases.push({ jws: make('{"alg":"eddsa"}'), jwk, pubHex, label: 'alg lower case' })
    cases.push({ jws: make('{"alg":"EdDSA","crit":["exp"],"exp":1}'), jwk, pubHex, label: 'crit exp' })
    cases.push({ jws: make('{"alg":"EdDSA","b64":false,"crit":["b64"]}'), jwk, pubHex, label: 'b64 false (RFC 7797, an extension we do not implement)', lenient: true })
    cases.push({ jws: make('{"alg":"EdDSA"}', Buffer.alloc(0)), jwk, pubHex, label: 'empty payload' })
    cases.push({ jws: `${gh}.${gp}.${bumpLast(gs)}`, jwk, pubHex, label: 'signature with non-zero trailing bits', lenient: true })
    cases.push({ jws: `${gh}.${gp}=.${gs}`, jwk, pubHex, label: 'padded payload' })
    cases.push({ jws: `${gh}.${gp}.${gs.replace(/-/g, '+').replace(/_/g, '/')}`, jwk, pubHex, label: 'signature in base64 (not url) alphabet' })
    cases.push({ jws: ` ${good}`, jwk, pubHex, label: 'leading space' })
    cases.push({ jws: `${gh}.${gp}.${gs}${gs}`, jwk, pubHex, label: 'signature twice' })
  }
  const out = runTool(tool, ['jws-verify'], cases.map((c) => `${c.jws} ${c.pubHex}`))
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i]
    const js = await joseVerify(c.jws, c.jwk)
    const line = out[i]
    const err = parseErr(line)
    if (!js.ok) {
      ck.check('jose rejects, ours rejects', err !== null, `${c.label}: we accept ${c.jws} (-> ${line}), jose: ${js.why}`)
    } else if (c.label.startsWith('alg Ed25519') && err) {
      ck.note('jose accepts alg "Ed25519", we reject', `${err.code}: ${err.message}`)
    } else if (c.lenient && err) {
      ck.note('jose accepts, our strict parser rejects', `${c.label} -> ${err.code}`)
    } else {
      const [word, hex = ''] = line.split(' ')
      ck.check('jose signs, ours verifies', word === 'ok' && hex === toHex(js.payload), `${c.label}: jws-verify ${c.jws} -> ${line}`)
    }
  }
}

ck.finish()
