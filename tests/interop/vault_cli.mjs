// `aether vault` (the CLI, over the encrypted RocksDB vault) against the npm reference
// implementations:
//  - root CIDs: `aether vault add [--profile P]` and ipfs-unixfs-importer give the same root CID,
//    default profile and unixfs-v1-2025, for an empty file, 1 byte, 262 144, 262 145,
//    174 x 262 144 + 1 bytes, a 64 MiB random file and a nested directory tree;
//  - `aether vault get` streams back exactly the bytes;
//  - CAR out: `aether vault export` is read by @ipld/car's CarReader, every block hashes to its
//    CID (multiformats sha2-256), the root matches;
//  - CAR in: a CAR @ipld/car writes (blocks in ipfs-unixfs-importer order) imports, and
//    `aether vault get` gives the original file back; a CAR with a tampered block imports
//    nothing (the vault's block count does not change);
//  - CAR round trip: a CAR @ipld/car writes in `ipfs dag export` order (root first, then the
//    leaves in link order; a one-level file) imports, and `aether vault export` writes back a
//    byte-identical file.
//
// usage: node vault_cli.mjs /path/to/aether   (INTEROP_SEED=n to replay)

import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { CarReader, CarWriter } from '@ipld/car'
import { importer } from 'ipfs-unixfs-importer'
import { sha256 } from 'multiformats/hashes/sha2'
import { Checker, Rng, bytesEqual, pickSeed } from './lib/harness.mjs'

const aether = process.argv[2] || process.env.AETHER_BIN
if (!aether) {
  console.error('usage: node vault_cli.mjs /path/to/aether')
  process.exit(2)
}
const seed = pickSeed('vault_cli')
const rng = new Rng(seed)
const ck = new Checker('vault_cli')
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'aether-vault-cli-'))
const env = { ...process.env, AETHER_HOME: path.join(tmp, 'home') }
delete env.AETHER_PASSPHRASE

function run (args, input) {
  const r = spawnSync(aether, args, { env, input, maxBuffer: 1 << 28 })
  if (r.error) throw new Error(`cannot run ${aether}: ${r.error.message}`)
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() }
}
function runOk (args) {
  const r = run(args)
  if (r.status !== 0) throw new Error(`aether ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return r.stdout
}
const json = (args) => JSON.parse(runOk(['--json', ...args]).toString())

runOk(['init', '--insecure-dev'])

function randomBytes (n) {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i += 8) {
    let v = rng.next64()
    for (let j = 0; j < 8 && i + j < n; j++) { out[i + j] = Number(v & 0xffn); v >>= 8n }
  }
  return out
}

const blackhole = { put: async (cid) => cid }
async function jsRoot (candidates, options) {
  let last
  for await (const e of importer(candidates, blackhole, options)) last = e
  return last.cid.toString()
}

const CHUNK = 262144
const MiB = 1024 * 1024
const big = randomBytes(64 * MiB)
const sizes = [0, 1, CHUNK, CHUNK + 1, 174 * CHUNK + 1, 64 * MiB]
const profiles = [{ name: 'default', js: {} }, { name: 'unixfs-v1-2025', js: { profile: 'unixfs-v1-2025' } }]

for (const n of sizes) {
  const bytes = big.subarray(0, n)
  const file = path.join(tmp, `f-${n}`)
  fs.writeFileSync(file, bytes)
  for (const p of profiles) {
    const js = await jsRoot([{ content: bytes }], p.js)
    const ours = json(['vault', 'add', '--profile', p.name, file]).cid
    if (ck.check(`add ${p.name}`, ours === js, `${p.name} ${n} bytes: aether ${ours}, ipfs-unixfs-importer ${js}`)) {
      console.log(`ok add ${p.name} ${n} bytes ${ours}`)
    }
    if (n <= CHUNK + 1 || n === 64 * MiB) {
      const back = runOk(['vault', 'get', ours])
      ck.check('get', bytesEqual(new Uint8Array(back), bytes), `${p.name} ${n} bytes: vault get differs`)
    }
  }
}

// A nested tree.
const tree = path.join(tmp, 'tree')
const layout = {
  'a.txt': new TextEncoder().encode('hello\n'),
  'b/c.bin': big.subarray(100, 300100),
  'b/d/e.txt': new Uint8Array(0),
  'b/d/f/g.bin': big.subarray(7, CHUNK + 8),
  'z.txt': big.subarray(0, 3)
}
for (const [rel, bytes] of Object.entries(layout)) {
  fs.mkdirSync(path.dirname(path.join(tree, rel)), { recursive: true })
  fs.writeFileSync(path.join(tree, rel), bytes)
}
for (const p of profiles) {
  const js = await jsRoot(Object.entries(layout).map(([rel, bytes]) => ({ path: `tree/${rel}`, content: bytes })), p.js)
  const ours = json(['vault', 'add', '-r', '--profile', p.name, tree]).cid
  if (ck.check(`add -r ${p.name}`, ours === js, `${p.name} tree: aether ${ours}, js ${js}`)) console.log(`ok add -r ${p.name} ${ours}`)
  const out = path.join(tmp, `tree-out-${p.name}`)
  runOk(['vault', 'get', ours, '-o', out])
  for (const [rel, bytes] of Object.entries(layout)) {
    ck.check('get -o', bytesEqual(new Uint8Array(fs.readFileSync(path.join(out, rel))), bytes), `${p.name} tree: ${rel} differs`)
  }
}

// CAR out: ours read by @ipld/car.
{
  const file = path.join(tmp, 'car-src')
  const bytes = big.subarray(0, 3 * MiB + 17)
  fs.writeFileSync(file, bytes)
  const root = json(['vault', 'add', file]).cid
  const carFile = path.join(tmp, 'out.car')
  runOk(['vault', 'export', root, carFile])
  const reader = await CarReader.fromBytes(new Uint8Array(fs.readFileSync(carFile)))
  const roots = await reader.getRoots()
  ck.check('export roots', roots.length === 1 && roots[0].toString() === root, `roots ${roots}`)
  let n = 0
  for await (const { cid, bytes: b } of reader.blocks()) {
    const digest = await sha256.digest(b)
    ck.check('export block', bytesEqual(digest.bytes, cid.multihash.bytes), `block ${cid} does not hash to its CID`)
    n++
  }
  ck.check('export blocks', n === 14, `expected 13 leaves + the root, got ${n}`)
  console.log(`ok export: ${n} blocks read and verified by @ipld/car`)
}

// CAR in: written by @ipld/car.
async function jsCar (bytes, tamper, rootFirst = false) {
  const blocks = []
  let root
  for await (const e of importer([{ content: bytes }], { put: async (cid, b) => { blocks.push({ cid, bytes: b }); return cid } }, {})) root = e.cid
  if (tamper) {
    const b = new Uint8Array(blocks[0].bytes)
    b[b.length - 1] ^= 1
    blocks[0] = { cid: blocks[0].cid, bytes: b }
  }
  // ipfs-unixfs-importer puts children before parents; for a one-level file the root is last.
  if (rootFirst) blocks.unshift(blocks.pop())
  const { writer, out } = CarWriter.create([root])
  const chunks = []
  const done = (async () => { for await (const c of out) chunks.push(c) })()
  for (const b of blocks) await writer.put(b)
  await writer.close()
  await done
  return { root: root.toString(), car: Buffer.concat(chunks) }
}
{
  const bytes = big.subarray(5, 2 * MiB + 5)
  const good = await jsCar(bytes, false)
  const goodFile = path.join(tmp, 'js.car')
  fs.writeFileSync(goodFile, good.car)
  const before = json(['vault', 'stats']).blocks
  const bad = await jsCar(big.subarray(9, MiB + 9), true)
  const badFile = path.join(tmp, 'js-bad.car')
  fs.writeFileSync(badFile, bad.car)
  const r = run(['vault', 'import', badFile])
  ck.check('import bad', r.status === 1 && /integrity/.test(r.stderr), `tampered CAR: exit ${r.status} ${r.stderr}`)
  ck.check('import bad writes nothing', json(['vault', 'stats']).blocks === before, 'a tampered CAR changed the vault')
  const imported = json(['vault', 'import', goodFile])
  ck.check('import roots', imported.roots.length === 1 && imported.roots[0] === good.root, `roots ${imported.roots}`)
  const back = runOk(['vault', 'get', good.root])
  ck.check('import get', bytesEqual(new Uint8Array(back), bytes), 'content of the imported CAR differs')
  console.log(`ok import: @ipld/car CAR of ${imported.blocks} blocks, content intact; tampered CAR refused`)
}

{
  const bytes = big.subarray(11, 5 * MiB + 11)  // 21 distinct leaves under one root
  const js = await jsCar(bytes, false, true)
  const jsFile = path.join(tmp, 'js-ordered.car')
  fs.writeFileSync(jsFile, js.car)
  const imported = json(['vault', 'import', jsFile])
  ck.check('round trip roots', imported.roots.length === 1 && imported.roots[0] === js.root, `roots ${imported.roots}`)
  const again = path.join(tmp, 'again.car')
  runOk(['vault', 'export', js.root, again])
  const ours = new Uint8Array(fs.readFileSync(again))
  if (ck.check('round trip identical', bytesEqual(ours, new Uint8Array(js.car)),
    `re-exported CAR differs: ${ours.length} bytes vs @ipld/car's ${js.car.length}`)) {
    console.log(`ok CAR round trip: @ipld/car's ${js.car.length}-byte CAR imported and exported back byte-identical`)
  }
}

fs.rmSync(tmp, { recursive: true, force: true })
ck.finish()
