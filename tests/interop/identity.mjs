// Identity service interop: `aether daemon` driven by an independent client.
//
//  - Starts `aether daemon --listen 127.0.0.1:0` on a fresh insecure-dev home and reads the bound
//    port, the node DID and the TLS fingerprint from its stdout.
//  - Every HTTPS request goes over a TLS 1.3 connection (Node's OpenSSL) whose certificate is
//    pinned by the fingerprint published in the node's DID document (rejectUnauthorized is off:
//    the certificate is self-signed; the fingerprint comparison is the trust decision, made
//    before any HTTP byte is sent).
//  - Registers a DID whose Ed25519 key comes from @noble/curves with a proof signed by jose,
//    resolves it, runs challenge -> attest (signature by @noble/curves), and verifies the JWT with
//    jose against the node key taken from the node's DID document.
//  - Bearer tokens: register needs one (401 without, with another audience, forged); the
//    token's "att" lists its capabilities. Credentials: a role VC from `aether cred issue`
//    presented at attest grants cred.issue; the node's VC-JWTs verify in did-jwt-vc and jose;
//    tampered ones fail in both.
//  - Attacks: replayed nonce, expired nonce, nonce for another DID, key not in the document,
//    registration without proof, update by a rotated-out key, oversized body, malformed JSON,
//    slow-loris, TLS 1.2 only client, wrong pin, rate limit (429); a second daemon on the same
//    home; SIGTERM then restart keeps the registry; `aether id resolve` (the CLI client) agrees.
//
// usage: node identity.mjs /path/to/aether   (or $AETHER_BIN)

import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import https from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import tls from 'node:tls'
import { isDeepStrictEqual } from 'node:util'
import { ed25519 } from '@noble/curves/ed25519.js'
import { CompactSign, decodeProtectedHeader, importJWK, jwtVerify } from 'jose'
import { base58btc } from 'multiformats/bases/base58'
import { verifyCredential } from 'did-jwt-vc'
import { Resolver } from 'did-resolver'
import { getResolver as getKeyResolver } from 'key-did-resolver'
import { Checker } from './lib/harness.mjs'

const bin = process.argv[2] || process.env.AETHER_BIN
if (!bin) {
  console.error('usage: node identity.mjs /path/to/aether (or set AETHER_BIN)')
  process.exit(2)
}
const ck = new Checker('identity')
const home = mkdtempSync(join(tmpdir(), 'aether-identity-'))
const NONCE_TTL_MS = 1500
const READ_TIMEOUT_MS = 1500
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const b64url = (b) => Buffer.from(b).toString('base64url')
const enc = new TextEncoder()

function startDaemon (rateLimit = 0) {
  const child = spawn(bin, ['--home', home, 'daemon', '--listen', '127.0.0.1:0', '--p2p-listen', '/ip4/127.0.0.1/tcp/0',
    '--nonce-ttl-ms', String(NONCE_TTL_MS), '--read-timeout-ms', String(READ_TIMEOUT_MS), '--rate-limit', String(rateLimit)],
  { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d) => { stderr += d })
  child.stderrText = () => stderr
  return new Promise((resolve, reject) => {
    let out = ''
    const info = {}
    const timer = setTimeout(() => reject(new Error(`daemon did not start in 60 s; stderr:\n${stderr}`)), 60000)
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`daemon exited early (${code}): ${stderr}`)) })
    child.stdout.on('data', (d) => {
      out += d
      for (const line of out.split('\n')) {
        const m = /^([a-z-]+): (.*)$/.exec(line)
        if (m) info[m[1]] = m[2]
      }
      const port = /^listening: port=(\d+)$/m.exec(out)
      if (port && info.did && info['tls-fingerprint']) {
        clearTimeout(timer)
        child.removeAllListeners('exit')
        resolve({ child, port: Number(port[1]), did: info.did, fingerprint: info['tls-fingerprint'], api: info.api })
      }
    })
  })
}

const norm = (fp) => fp.replace(/^sha256:/, '').replace(/:/g, '').toLowerCase()

// A TLS 1.3 connection whose certificate has the pinned SHA-256 fingerprint.
function pinnedConnect (port, fingerprint, extra = {}) {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'localhost', ...extra })
    socket.once('error', reject)
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate()
      if (!cert || norm(cert.fingerprint256 || '') !== norm(fingerprint)) {
        socket.destroy()
        reject(new Error(`pinning: certificate ${cert && cert.fingerprint256} is not ${fingerprint}`))
        return
      }
      if (socket.getProtocol() !== 'TLSv1.3') {
        socket.destroy()
        reject(new Error(`negotiated ${socket.getProtocol()}, want TLSv1.3`))
        return
      }
      socket.removeListener('error', reject)
      resolve(socket)
    })
  })
}

let D // the running daemon
let BEARER = null // a token of a client did:key; register and the credential routes need one
async function request (method, path, body, { contentType = 'application/json', raw, auth } = {}) {
  const socket = await pinnedConnect(D.port, D.fingerprint)
  const payload = raw !== undefined ? raw : (body === undefined ? undefined : JSON.stringify(body))
  return new Promise((resolve, reject) => {
    const headers = {}
    if (payload !== undefined) headers['content-type'] = contentType
    const authorization = auth !== undefined ? auth : (BEARER ? `Bearer ${BEARER}` : undefined)
    if (authorization) headers.authorization = authorization
    const req = https.request({ host: '127.0.0.1', port: D.port, method, path, headers, createConnection: () => socket },
      (res) => {
        const chunks = []
        res.on('data', (c) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let json = null
          try { json = JSON.parse(text) } catch {}
          resolve({ status: res.statusCode, type: res.headers['content-type'] || '', text, json, headers: res.headers })
        })
      })
    req.on('error', (e) => reject(new Error(`${method} ${path}: ${e.message}`)))
    req.end(payload)
  })
}

function isProblem (r, status, detailRe) {
  return r.status === status && r.type.startsWith('application/problem+json') && r.json &&
    r.json.status === status && typeof r.json.title === 'string' && typeof r.json.type === 'string' &&
    typeof r.json.detail === 'string' && (!detailRe || detailRe.test(r.json.detail))
}
const show = (r) => `${r.status} ${r.type} ${r.text.slice(0, 300)}`

function newKey () {
  const secretKey = ed25519.utils.randomSecretKey()
  return { secretKey, publicKey: ed25519.getPublicKey(secretKey) }
}
const multikey = (pub) => base58btc.encode(Uint8Array.from([0xed, 0x01, ...pub]))
const didKey = (pub) => `did:key:${multikey(pub)}`
function docFor (did, keys) {
  return {
    '@context': ['https://www.w3.org/ns/did/v1'],
    id: did,
    verificationMethod: keys.map(([frag, k]) => ({ id: `${did}#${frag}`, type: 'Multikey', controller: did, publicKeyMultibase: multikey(k.publicKey) })),
    authentication: keys.map(([frag]) => `#${frag}`)
  }
}
async function proof (doc, key, kid, ver) {
  const jwk = await importJWK({ kty: 'OKP', crv: 'Ed25519', d: b64url(key.secretKey), x: b64url(key.publicKey) }, 'EdDSA')
  return new CompactSign(enc.encode(JSON.stringify(doc))).setProtectedHeader({ alg: 'EdDSA', kid, ver }).sign(jwk)
}
const attestSig = (key, nonce, did, aud) => b64url(ed25519.sign(enc.encode(`aether-attest-v1\n${nonce}\n${did}\n${aud}`), key.secretKey))

async function main () {
  const init = spawnSync(bin, ['--home', home, 'init', '--insecure-dev'], { encoding: 'utf8' })
  if (init.status !== 0) throw new Error(`aether init failed: ${init.stderr}`)
  D = await startDaemon()
  console.log(`daemon on port ${D.port}, node ${D.did}, ${D.fingerprint}`)

  // ---- the node's DID document and TLS pinning ----
  const nodeDocRes = await request('GET', `/v1/identity/${D.did}`)
  ck.check('node-doc', nodeDocRes.status === 200, () => show(nodeDocRes))
  const nodeDoc = nodeDocRes.json
  const svc = (nodeDoc.service || []).find((s) => s.type === 'TlsCertificateFingerprint')
  ck.check('node-doc', svc && norm(svc.fingerprint) === norm(D.fingerprint), () => `service ${JSON.stringify(nodeDoc.service)}`)
  ck.check('node-doc', svc && svc.serviceEndpoint === D.api && svc.id === `${D.did}#tls`, () => JSON.stringify(svc))
  // Pinning by the document's fingerprint (what a client that knows the DID does).
  const s1 = await pinnedConnect(D.port, svc.fingerprint)
  ck.check('tls', s1.getProtocol() === 'TLSv1.3', s1.getProtocol())
  s1.destroy()
  const wrongPin = await pinnedConnect(D.port, 'sha256:' + '00'.repeat(32)).then(() => 'connected', (e) => e.message)
  ck.check('tls', /pinning/.test(wrongPin), `wrong pin: ${wrongPin}`)
  const tls12 = await pinnedConnect(D.port, D.fingerprint, { maxVersion: 'TLSv1.2' }).then(() => 'connected', (e) => e.message)
  ck.check('tls', tls12 !== 'connected', 'a TLS 1.2-only client must be refused')
  // The node key from its DID document (publicKeyMultibase: 0xed01 || key, base58btc).
  const vm = nodeDoc.verificationMethod[0]
  const nodeKeyBytes = base58btc.decode(vm.publicKeyMultibase)
  ck.check('node-doc', nodeKeyBytes[0] === 0xed && nodeKeyBytes[1] === 0x01 && nodeKeyBytes.length === 34, vm.publicKeyMultibase)
  const nodeJwk = await importJWK({ kty: 'OKP', crv: 'Ed25519', x: b64url(nodeKeyBytes.subarray(2)) }, 'EdDSA')

  // ---- a Bearer token for a client did:key (register and credentials need one) ----
  const clientKey = newKey()
  const client = didKey(clientKey.publicKey)
  async function tokenFor (key, did, { audience, credentials } = {}) {
    const c = await request('POST', '/v1/identity/challenge', audience ? { did, audience } : { did })
    const body = { did, nonce: c.json.nonce, signature: attestSig(key, c.json.nonce, did, audience || D.did) }
    if (credentials) body.credentials = credentials
    return request('POST', '/v1/identity/attest', body)
  }
  let r = await tokenFor(clientKey, client)
  ck.check('bearer', r.status === 200 && typeof r.json.token === 'string', () => show(r))
  const clientToken = r.json.token
  {
    const { payload } = await jwtVerify(clientToken, nodeJwk, { issuer: D.did, audience: D.did, subject: client })
    const can = (payload.att || []).map((a) => `${a.can} ${a.with}`)
    ck.check('bearer', can.includes('identity/register identity:*') && can.includes('cred/verify cred:*'), JSON.stringify(payload.att))
  }

  // ---- register, resolve ----
  const alice = `did:example:${randomBytes(8).toString('hex')}`
  const k1 = newKey()
  const k2 = newKey()
  const v1 = docFor(alice, [['k1', k1]])
  const signedV1 = { did_document: v1, proof: await proof(v1, k1, `${alice}#k1`, 1) }
  r = await request('POST', '/v1/identity/register', signedV1)
  ck.check('no-token', isProblem(r, 401, /Bearer/), () => show(r))
  r = await tokenFor(clientKey, client, { audience: 'https://other.example' })
  r = await request('POST', '/v1/identity/register', signedV1, { auth: `Bearer ${r.json.token}` })
  ck.check('wrong-audience-token', isProblem(r, 401, /wrong audience/), () => show(r))
  {
    // The same claims re-signed by a key that is not the node's.
    const forger = newKey()
    const jwk = await importJWK({ kty: 'OKP', crv: 'Ed25519', d: b64url(forger.secretKey), x: b64url(forger.publicKey) }, 'EdDSA')
    const [h, p] = clientToken.split('.')
    const forged = await new CompactSign(Buffer.from(p, 'base64url')).setProtectedHeader(JSON.parse(Buffer.from(h, 'base64url'))).sign(jwk)
    r = await request('POST', '/v1/identity/register', signedV1, { auth: `Bearer ${forged}` })
    ck.check('forged-token', isProblem(r, 401, /not signed by this node/), () => show(r))
  }
  BEARER = clientToken
  r = await request('POST', '/v1/identity/register', { did_document: v1 })
  ck.check('no-proof', isProblem(r, 401, /proof is required/), () => show(r))
  r = await request('POST', '/v1/identity/register', signedV1)
  ck.check('register', r.status === 201 && r.json.did === alice && r.json.version === '1', () => show(r))
  r = await request('GET', `/v1/identity/${encodeURIComponent(alice)}`)
  ck.check('resolve', r.status === 200 && isDeepStrictEqual(r.json, v1), () => show(r))
  const bobKey = newKey()
  const bob = didKey(bobKey.publicKey)
  r = await request('GET', `/v1/identity/${bob}`)
  ck.check('resolve', r.status === 200 && r.json.id === bob &&
    r.json.verificationMethod[0].publicKeyMultibase === multikey(bobKey.publicKey), () => show(r))

  // ---- challenge -> attest -> JWT verified by jose ----
  r = await request('POST', '/v1/identity/challenge', { did: alice })
  ck.check('challenge', r.status === 200 && Buffer.from(r.json.nonce, 'base64url').length === 32 &&
    r.json.audience === D.did && !Number.isNaN(Date.parse(r.json.expires_at)), () => show(r))
  const n1 = r.json.nonce
  const sig1 = attestSig(k1, n1, alice, D.did)
  r = await request('POST', '/v1/identity/attest', { did: alice, nonce: n1, signature: sig1 })
  ck.check('attest', r.status === 200 && r.json.token_type === 'JWT', () => show(r))
  try {
    const { payload, protectedHeader } = await jwtVerify(r.json.token, nodeJwk, { issuer: D.did, audience: D.did, subject: alice, algorithms: ['EdDSA'] })
    ck.check('jwt', protectedHeader.kid === vm.id, JSON.stringify(protectedHeader))
    ck.check('jwt', payload.exp - payload.iat === 300 && typeof payload.jti === 'string', JSON.stringify(payload))
  } catch (e) {
    ck.check('jwt', false, `jose rejected the token: ${e.message}`)
  }
  ck.check('jwt', decodeProtectedHeader(r.json.token).alg === 'EdDSA', 'alg')
  // A custom audience ends up in aud.
  r = await request('POST', '/v1/identity/challenge', { did: bob, audience: 'https://app.example' })
  r = await request('POST', '/v1/identity/attest', { did: bob, nonce: r.json.nonce, signature: attestSig(bobKey, r.json.nonce, bob, 'https://app.example') })
  const audOk = r.status === 200 && await jwtVerify(r.json.token, nodeJwk, { audience: 'https://app.example', subject: bob }).then(() => true, () => false)
  ck.check('jwt', audOk, () => show(r))

  // ---- attacks ----
  r = await request('POST', '/v1/identity/attest', { did: alice, nonce: n1, signature: sig1 })
  ck.check('replayed-nonce', isProblem(r, 401, /unknown nonce/), () => show(r))

  r = await request('POST', '/v1/identity/challenge', { did: alice })
  const n2 = r.json.nonce
  await sleep(NONCE_TTL_MS + 300)
  r = await request('POST', '/v1/identity/attest', { did: alice, nonce: n2, signature: attestSig(k1, n2, alice, D.did) })
  ck.check('expired-nonce', isProblem(r, 401, /expired/), () => show(r))

  r = await request('POST', '/v1/identity/challenge', { did: alice })
  const n3 = r.json.nonce
  r = await request('POST', '/v1/identity/attest', { did: bob, nonce: n3, signature: attestSig(bobKey, n3, bob, D.did) })
  ck.check('other-did-nonce', isProblem(r, 401, /another DID/), () => show(r))

  r = await request('POST', '/v1/identity/challenge', { did: alice })
  const n4 = r.json.nonce
  r = await request('POST', '/v1/identity/attest', { did: alice, nonce: n4, signature: attestSig(newKey(), n4, alice, D.did) })
  ck.check('key-not-in-document', isProblem(r, 401, /does not verify/) && r.json.type === 'urn:aether:problem:bad-signature', () => show(r))

  // Key rotation: k1 signs v2 that lists only k2; k1 can then no longer update.
  const v2 = docFor(alice, [['k2', k2]])
  r = await request('POST', '/v1/identity/register', { did_document: v2, proof: await proof(v2, k1, `${alice}#k1`, 2) })
  ck.check('rotation', r.status === 201 && r.json.version === '2', () => show(r))
  const v3 = docFor(alice, [['k1', k1]])
  r = await request('POST', '/v1/identity/register', { did_document: v3, proof: await proof(v3, k1, `${alice}#k1`, 3) })
  ck.check('rotated-out-key', isProblem(r, 401, /not an authentication key of the currently registered/), () => show(r))
  r = await request('GET', `/v1/identity/${alice}`)
  ck.check('rotation', isDeepStrictEqual(r.json, v2), () => show(r))
  // The rotated-out key cannot attest either; the new one can.
  r = await request('POST', '/v1/identity/challenge', { did: alice })
  const n5 = r.json.nonce
  r = await request('POST', '/v1/identity/attest', { did: alice, nonce: n5, signature: attestSig(k1, n5, alice, D.did) })
  ck.check('rotated-out-key', isProblem(r, 401), () => show(r))
  r = await request('POST', '/v1/identity/challenge', { did: alice })
  r = await request('POST', '/v1/identity/attest', { did: alice, nonce: r.json.nonce, signature: attestSig(k2, r.json.nonce, alice, D.did) })
  ck.check('rotation', r.status === 200, () => show(r))

  // ---- verifiable credentials: the operator grants a role, the holder gets a scoped token ----
  r = await request('POST', '/v1/credentials/issue', { subject: alice, type: 'MemberCredential', claims: { role: 'member' } })
  ck.check('cred-scope', isProblem(r, 403, /cred\.issue MemberCredential/), () => show(r))
  const roleCli = spawnSync(bin, ['--home', home, 'cred', 'issue', '--subject', client, '--claim', 'role=issuer',
    '--scope', 'cred.issue MemberCredential'], { encoding: 'utf8' })
  ck.check('cred-cli', roleCli.status === 0, () => roleCli.stderr)
  const roleVc = roleCli.stdout.trim()
  const resolver = new Resolver(getKeyResolver())
  const vcOk = async (jwt) => verifyCredential(jwt, resolver).then((v) => v, (e) => ({ error: e.message }))
  let v = await vcOk(roleVc)
  ck.check('vc-interop', v.verified && v.issuer === D.did && v.payload.sub === client &&
    v.verifiableCredential.credentialSubject.role === 'issuer', () => JSON.stringify(v).slice(0, 400))
  r = await tokenFor(clientKey, client, { credentials: [roleVc] })
  ck.check('cred-attest', r.status === 200, () => show(r))
  const issuerToken = r.json.token
  r = await request('POST', '/v1/credentials/issue', { subject: alice, type: 'MemberCredential', claims: { role: 'member', team: 'blue' } },
    { auth: `Bearer ${issuerToken}` })
  ck.check('cred-issue', r.status === 201 && typeof r.json.credential === 'string', () => show(r))
  const memberVc = r.json.credential
  // An independent VC-JWT verifier (did-jwt-vc + key-did-resolver) accepts the node's credential.
  v = await vcOk(memberVc)
  ck.check('vc-interop', v.verified && v.issuer === D.did && v.payload.sub === alice &&
    v.verifiableCredential.type.includes('MemberCredential') && v.verifiableCredential.credentialSubject.team === 'blue',
  () => JSON.stringify(v).slice(0, 400))
  // ... and jose with the key from the node's DID document.
  const joseVc = await jwtVerify(memberVc, nodeJwk, { issuer: D.did, subject: alice }).then(() => true, () => false)
  ck.check('vc-interop', joseVc, 'jose verifies the VC-JWT')
  // Tampered: both verifiers refuse.
  const [vh, vp, vs] = memberVc.split('.')
  const claims = JSON.parse(Buffer.from(vp, 'base64url'))
  claims.vc.credentialSubject.role = 'admin'
  const tamperedVc = `${vh}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${vs}`
  v = await vcOk(tamperedVc)
  ck.check('vc-tampered', !v.verified && v.error, () => JSON.stringify(v).slice(0, 300))
  r = await request('POST', '/v1/credentials/verify', { credential: tamperedVc })
  ck.check('vc-tampered', isProblem(r, 401), () => show(r))
  r = await request('POST', '/v1/credentials/verify', { credential: memberVc })
  ck.check('vc-verify', r.status === 200 && r.json.verified === true && r.json.claims.team === 'blue', () => show(r))
  r = await request('POST', '/v1/credentials/issue', { subject: alice, type: 'AdminCredential' }, { auth: `Bearer ${issuerToken}` })
  ck.check('cred-scope', isProblem(r, 403), () => show(r))
  // A role credential naming another subject cannot be presented.
  r = await tokenFor(k2, alice, { credentials: [roleVc] })
  ck.check('cred-wrong-subject', isProblem(r, 401, /another DID/), () => show(r))

  r = await request('POST', '/v1/identity/challenge', null, { raw: JSON.stringify({ did: alice, pad: 'x'.repeat(100 * 1024) }) })
  ck.check('oversized-body', isProblem(r, 413), () => show(r))
  r = await request('POST', '/v1/identity/challenge', null, { raw: '{"did": "did:example:a", ' })
  ck.check('malformed-json', isProblem(r, 400, /request body/), () => show(r))
  r = await request('POST', '/v1/identity/challenge', null, { raw: '{"did":"a","did":"b"}' })
  ck.check('malformed-json', isProblem(r, 400), () => show(r))
  r = await request('POST', '/v1/identity/challenge', null, { raw: '{}', contentType: 'text/plain' })
  ck.check('content-type', isProblem(r, 415), () => show(r))

  // Slow-loris: half a request, then silence. The daemon must close the connection.
  {
    const s = await pinnedConnect(D.port, D.fingerprint)
    const t0 = Date.now()
    s.write('POST /v1/identity/challenge HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n')
    const closedAfter = await new Promise((resolve) => {
      const t = setTimeout(() => resolve(-1), READ_TIMEOUT_MS + 5000)
      s.on('close', () => { clearTimeout(t); resolve(Date.now() - t0) })
      s.on('error', () => {})
      s.resume()
    })
    ck.check('slow-loris', closedAfter >= 0 && closedAfter < READ_TIMEOUT_MS + 2000, `closed after ${closedAfter} ms`)
    console.log(`slow-loris connection closed after ${closedAfter} ms (read timeout ${READ_TIMEOUT_MS} ms)`)
  }

  // ---- operations endpoints ----
  r = await request('GET', '/healthz')
  ck.check('ops', r.status === 200 && r.json.status === 'ok', () => show(r))
  r = await request('GET', '/metrics')
  ck.check('ops', r.status === 200 && r.text.includes('aether_http_requests_total{route="/v1/identity/attest",status="200"}') &&
    /aether_identity_nonce_cache_size \d+/.test(r.text) && /aether_http_read_timeouts_total [1-9]/.test(r.text), () => r.text)
  r = await request('GET', '/openapi.json')
  ck.check('ops', r.status === 200 && r.json.openapi === '3.0.3' && r.json.paths['/v1/identity/attest'], () => show(r))

  // ---- one daemon per home ----
  const second = spawnSync(bin, ['--home', home, 'daemon', '--listen', '127.0.0.1:0', '--p2p-listen', '/ip4/127.0.0.1/tcp/0'], { encoding: 'utf8', timeout: 30000 })
  ck.check('second-daemon', second.status === 1 && /another aether daemon is running/.test(second.stderr), `exit ${second.status}: ${second.stderr}`)

  // ---- SIGTERM: clean exit; the registry survives a restart ----
  const exited = new Promise((resolve) => D.child.on('exit', (code, signal) => resolve({ code, signal })))
  D.child.kill('SIGTERM')
  const ex = await Promise.race([exited, sleep(15000).then(() => ({ code: 'timeout' }))])
  ck.check('shutdown', ex.code === 0, () => `exit ${JSON.stringify(ex)}; stderr tail: ${D.child.stderrText().slice(-500)}`)
  D = await startDaemon(2) // 2 requests/s per address, burst 4
  r = await request('GET', `/v1/identity/${alice}`)
  ck.check('restart', r.status === 200 && isDeepStrictEqual(r.json, v2), () => show(r))
  // The CLI client (`aether id resolve`, pinned to the node's own certificate) sees the same.
  const cli = spawnSync(bin, ['--home', home, 'id', 'resolve', alice, '--api', `127.0.0.1:${D.port}`], { encoding: 'utf8' })
  let cliDoc = null
  try { cliDoc = JSON.parse(cli.stdout) } catch {}
  ck.check('cli', cli.status === 0 && isDeepStrictEqual(cliDoc, v2), () => `exit ${cli.status}: ${cli.stdout} ${cli.stderr}`)
  const statuses = []
  let limited = null
  for (let i = 0; i < 8; i++) {
    const h = await request('GET', '/healthz')
    statuses.push(h.status)
    if (h.status === 429 && !limited) limited = h
  }
  ck.check('rate-limit', limited && isProblem(limited, 429) && limited.headers['retry-after'] === '1', () => `statuses ${statuses}`)
  D.child.kill('SIGTERM')
  await new Promise((resolve) => D.child.on('exit', resolve))
}

main().then(() => {
  rmSync(home, { recursive: true, force: true })
  ck.finish()
}, (e) => {
  console.log(`FAIL ${e.stack || e}`)
  if (D && D.child) console.log(`daemon stderr (tail):\n${D.child.stderrText().slice(-3000)}`)
  if (D && D.child) D.child.kill('SIGKILL')
  rmSync(home, { recursive: true, force: true })
  process.exit(1)
})
