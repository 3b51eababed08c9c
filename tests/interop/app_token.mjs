// Interop: the UCAN an app run mints (`aether run --json` prints it as "token") validated by
// @ucans/ucans 0.12.0: signature under the node's did:key (the library's own Ed25519 plugin), time
// bounds, issuer = the node, audience = the app's DID, and exactly the capabilities granted.
// usage: node app_token.mjs <token> <node did> <app did> "RIGHT RESOURCE"...
// (run by tests/e2e/devloop_test.sh; it lives here so that Node resolves ./node_modules.)
import * as ucans from '@ucans/ucans'

const [token, nodeDid, appDid, ...grants] = process.argv.slice(2)
const fail = (why) => { console.log(`FAIL: ${why}`); process.exit(1) }
if (!token || !nodeDid || !appDid || grants.length === 0) fail('usage: app_token.mjs <token> <node did> <app did> "RIGHT RESOURCE"...')

// Our (right, resource) -> UCAN {with, can} (docs/formats/ucan.md), written out independently.
const toUcan = (g) => {
  const [right, resource] = g.split(' ')
  const [ns, ability] = right.split('.')
  return { with: ns === 'http' ? resource : `${ns}:${resource}`, can: `${ns}/${ability}` }
}

let u
try {
  u = await ucans.validate(token)
} catch (e) {
  fail(`ucans.validate refused the token: ${e.message}`)
}
const p = u.payload
if (p.iss !== nodeDid) fail(`iss ${p.iss}, want the node ${nodeDid}`)
if (p.aud !== appDid) fail(`aud ${p.aud}, want the app ${appDid}`)
const now = Math.floor(Date.now() / 1000)
if (!(p.exp > now)) fail(`exp ${p.exp} is not in the future`)
if (p.nbf != null && p.nbf > now) fail(`nbf ${p.nbf} is in the future`)
if ((p.prf ?? []).length !== 0) fail('a root token has no proofs')
const att = p.att.map((c) => `${ucans.capability.encode(c).with} ${ucans.capability.encode(c).can}`).sort()
const want = grants.map(toUcan).map((c) => `${c.with} ${c.can}`).sort()
if (JSON.stringify(att) !== JSON.stringify(want)) fail(`att ${JSON.stringify(att)}, want ${JSON.stringify(want)}`)
// And as a proof of each capability for the app, rooted at the node.
for (const g of grants) {
  const r = await ucans.verify(token, {
    audience: appDid,
    requiredCapabilities: [{ capability: ucans.capability.parse(toUcan(g)), rootIssuer: nodeDid }]
  })
  if (!r.ok) fail(`ucans.verify(${g}): ${r.error.map((e) => e.message).join(' | ')}`)
}
console.log(`ok: ${att.length} capabilities, exp in ${p.exp - now} s`)
