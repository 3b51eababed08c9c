// did:web through `aether daemon`: GET /v1/identity/did:web:... fetched over HTTPS from a web
// server this script runs (Node's https, not our code), compared with what an independent
// did:web resolver (web-did-resolver, through did-resolver) gets from the same server.
//
//  - The web server's certificate is the self-signed one of a second `aether init` home (SAN
//    127.0.0.1 / localhost); the daemon trusts it only through --did-web-ca-file, and reaches
//    loopback only with --did-web-allow-private. A second daemon with the default options
//    (system roots, no private destinations) must refuse the same DID, and one that trusts
//    another certificate must refuse it as untrusted.
//  - Documents: /.well-known/did.json (did:web:localhost%3APORT), a path DID
//    (did:web:localhost%3APORT:users:alice), one whose id is another DID, a 301, a missing one.
//  - The resolved document is used: a client signs a JWS with the did:web key (jose), and the
//    daemon-resolved document's key verifies it (jose again), as a relying party would.
//
// usage: node identity_didweb.mjs /path/to/aether   (or $AETHER_BIN)

import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import https from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import tls from 'node:tls'
import { isDeepStrictEqual } from 'node:util'
import { ed25519 } from '@noble/curves/ed25519.js'
import { CompactSign, compactVerify, importJWK } from 'jose'
import { base58btc } from 'multiformats/bases/base58'
import { Checker } from './lib/harness.mjs'

const bin = process.argv[2] || process.env.AETHER_BIN
if (!bin) {
  console.error('usage: node identity_didweb.mjs /path/to/aether (or set AETHER_BIN)')
  process.exit(2)
}
const ck = new Checker('identity_didweb')
const root = mkdtempSync(join(tmpdir(), 'aether-didweb-'))
const b64url = (b) => Buffer.from(b).toString('base64url')
const enc = new TextEncoder()
const daemons = []

function init (name) {
  const home = join(root, name)
  const r = spawnSync(bin, ['--home', home, 'init', '--insecure-dev'], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`aether init ${name} failed: ${r.stderr}`)
  return home
}

function startDaemon (home, extra) {
  const child = spawn(bin, ['--home', home, 'daemon', '--listen', '127.0.0.1:0', '--no-p2p', '--rate-limit', '0', ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] })
  daemons.push(child)
  let stderr = ''
  child.stderr.on('data', (d) => { stderr += d })
  child.stderrText = () => stderr
  return new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`daemon did not start in 60 s; stderr:\n${stderr}`)), 60000)
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`daemon exited early (${code}): ${stderr}`)) })
    child.stdout.on('data', (d) => {
      out += d
      const port = /^listening: port=(\d+)$/m.exec(out)
      const fp = /^tls-fingerprint: (\S+)$/m.exec(out)
      if (port && fp) {
        clearTimeout(timer)
        child.removeAllListeners('exit')
        resolve({ child, port: Number(port[1]), fingerprint: fp[1] })
      }
    })
  })
}

const norm = (fp) => fp.replace(/^sha256:/, '').replace(/:/g, '').toLowerCase()

// GET over TLS pinned to the daemon's certificate fingerprint.
function get (d, path) {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: d.port, rejectUnauthorized: false, servername: 'localhost' })
    socket.once('error', reject)
    socket.once('secureConnect', () => {
      if (norm(socket.getPeerCertificate().fingerprint256 || '') !== norm(d.fingerprint)) {
        socket.destroy()
        reject(new Error('pinning failed'))
        return
      }
      const req = https.request({ host: '127.0.0.1', port: d.port, method: 'GET', path, createConnection: () => socket }, (res) => {
        const chunks = []
        res.on('data', (c) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let json = null
          try { json = JSON.parse(text) } catch {}
          resolve({ status: res.statusCode, type: res.headers['content-type'] || '', text, json })
        })
      })
      req.on('error', reject)
      req.end()
    })
  })
}
const show = (r) => `${r.status} ${r.type} ${r.text.slice(0, 400)}`
const isProblem = (r, status, re) => r.status === status && r.type.startsWith('application/problem+json') && r.json &&
  r.json.status === status && typeof r.json.detail === 'string' && (!re || re.test(r.json.detail))
// The route decodes the path once: did:web's own %3A travels as %253A.
const route = (did) => '/v1/identity/' + did.replaceAll('%', '%25')

const multikey = (pub) => base58btc.encode(Uint8Array.from([0xed, 0x01, ...pub]))
function docFor (did, publicKey) {
  return {
    '@context': ['https://www.w3.org/ns/did/v1'],
    id: did,
    verificationMethod: [{ id: `${did}#k1`, type: 'Multikey', controller: did, publicKeyMultibase: multikey(publicKey) }],
    authentication: ['#k1'],
    assertionMethod: ['#k1']
  }
}

// The independent resolver runs in a child process (Node reads extra trust roots only at
// start), asynchronously: the web server it fetches from lives in this process.
function independentResolve (did, caFile) {
  const code = `
    import { Resolver } from 'did-resolver'
    import { getResolver } from 'web-did-resolver'
    const r = await new Resolver(getResolver()).resolve(process.argv[1])
    process.stdout.write(JSON.stringify(r))`
  const child = spawn(process.execPath, ['--input-type=module', '-e', code, did],
    { cwd: new URL('.', import.meta.url).pathname, env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile } })
  let out = ''
  let err = ''
  child.stdout.on('data', (d) => { out += d })
  child.stderr.on('data', (d) => { err += d })
  return new Promise((resolve, reject) => child.on('exit', (code) => {
    if (code !== 0) reject(new Error(`web-did-resolver: ${err}`))
    else resolve(JSON.parse(out))
  }))
}

async function main () {
  const nodeHome = init('node')
  const webHome = init('web')
  const strangerHome = init('stranger')
  const webCa = join(webHome, 'tls', 'cert.pem')

  // The web host: Node's https with the web home's certificate.
  const secretKey = ed25519.utils.randomSecretKey()
  const publicKey = ed25519.getPublicKey(secretKey)
  const docs = new Map()
  const seen = []
  const server = https.createServer({ cert: readFileSync(webCa), key: readFileSync(join(webHome, 'tls', 'key.pem')) }, (req, res) => {
    seen.push(req.url)
    if (req.url === '/moved/did.json') {
      res.writeHead(301, { location: 'https://example.com/did.json' }).end()
      return
    }
    const doc = docs.get(req.url)
    if (!doc) {
      res.writeHead(404).end('not here')
      return
    }
    res.writeHead(200, { 'content-type': 'application/did+json' }).end(JSON.stringify(doc))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const host = `localhost%3A${server.address().port}`
  const wellKnown = `did:web:${host}`
  const alice = `did:web:${host}:users:alice`
  docs.set('/.well-known/did.json', docFor(wellKnown, publicKey))
  docs.set('/users/alice/did.json', docFor(alice, publicKey))
  docs.set('/impostor/did.json', docFor('did:web:example.com', publicKey))

  const D = await startDaemon(nodeHome, ['--did-web-ca-file', webCa, '--did-web-allow-private'])

  for (const did of [wellKnown, alice]) {
    const r = await get(D, route(did))
    ck.check('resolve', r.status === 200 && r.type.startsWith('application/did+json'), () => `${did}: ${show(r)}`)
    ck.check('resolve', isDeepStrictEqual(r.json, docFor(did, publicKey)), () => `${did}: ${r.text}`)
    const ind = await independentResolve(did, webCa)
    ck.check('independent', ind.didResolutionMetadata && !ind.didResolutionMetadata.error, () => JSON.stringify(ind))
    ck.check('independent', isDeepStrictEqual(ind.didDocument, r.json), () => `web-did-resolver ${JSON.stringify(ind.didDocument)} vs daemon ${r.text}`)
  }
  ck.check('resolve', seen.includes('/.well-known/did.json') && seen.includes('/users/alice/did.json'), () => `server saw ${seen}`)

  // A relying party uses the daemon-resolved document: the did:web key verifies a JWS by it.
  const resolved = (await get(D, route(alice))).json
  const vm = resolved.verificationMethod.find((m) => m.id === `${alice}#k1`)
  const pub = base58btc.decode(vm.publicKeyMultibase).slice(2)
  const jwk = await importJWK({ kty: 'OKP', crv: 'Ed25519', d: b64url(secretKey), x: b64url(publicKey) }, 'EdDSA')
  const jws = await new CompactSign(enc.encode('hello from alice')).setProtectedHeader({ alg: 'EdDSA', kid: vm.id }).sign(jwk)
  const verified = await compactVerify(jws, await importJWK({ kty: 'OKP', crv: 'Ed25519', x: b64url(pub) }, 'EdDSA'))
  ck.check('use', new TextDecoder().decode(verified.payload) === 'hello from alice', 'payload')

  // What the host cannot prove.
  let r = await get(D, route(`did:web:${host}:impostor`))
  ck.check('refused', isProblem(r, 502, /"id" other than/), () => `impostor: ${show(r)}`)
  r = await get(D, route(`did:web:${host}:moved`))
  ck.check('refused', isProblem(r, 502, /redirects are not followed/), () => `moved: ${show(r)}`)
  r = await get(D, route(`did:web:${host}:missing`))
  ck.check('refused', isProblem(r, 404, /no document at https:\/\/localhost:\d+\/missing\/did\.json/), () => `missing: ${show(r)}`)
  r = await get(D, route('did:web:localhost%3A0'))
  ck.check('refused', isProblem(r, 400, /port/), () => `port 0: ${show(r)}`)
  r = await get(D, route(`did:web:${host}:..`))
  ck.check('refused', isProblem(r, 400, /segment/), () => `dot-dot: ${show(r)}`)

  // Default options: no loopback destination at all; another trust root: untrusted certificate.
  const before = seen.length
  const plain = await startDaemon(init('plain'), [])
  r = await get(plain, route(wellKnown))
  ck.check('defaults', isProblem(r, 403, /loopback, private or link-local/), () => `default daemon: ${show(r)}`)
  const stranger = await startDaemon(strangerHome, ['--did-web-ca-file', webCa.replace(webHome, nodeHome), '--did-web-allow-private'])
  r = await get(stranger, route(wellKnown))
  ck.check('defaults', isProblem(r, 502, /not trusted/), () => `other trust root: ${show(r)}`)
  ck.check('defaults', seen.length === before, () => `the web server got requests it should not have: ${seen.slice(before)}`)

  for (const d of daemons) d.kill('SIGTERM')
  await Promise.all(daemons.map((d) => d.exitCode !== null ? null : new Promise((resolve) => d.on('exit', resolve))))
  server.close()
}

main().then(() => {
  rmSync(root, { recursive: true, force: true })
  ck.finish()
}, (e) => {
  console.log(`FAIL ${e.stack || e}`)
  for (const d of daemons) {
    console.log(`daemon stderr (tail):\n${d.stderrText ? d.stderrText().slice(-2000) : ''}`)
    d.kill('SIGKILL')
  }
  rmSync(root, { recursive: true, force: true })
  process.exit(1)
})
