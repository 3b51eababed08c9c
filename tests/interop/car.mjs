// CAR v1 interop: Aether's CarWriter / CarReader (src/store) against @ipld/car.
//
//  ours -> JS: files and a directory tree imported and exported as a CAR by aether_store_tool
//    are read by @ipld/car's CarReader: the roots are the root CID ipfs-unixfs-importer computes,
//    every block hashes (multiformats sha2-256) to its CID, no block is missing, and
//    ipfs-unixfs-exporter reading those blocks gives back the original bytes / tree.
//  JS -> ours: CARs written by @ipld/car's CarWriter (blocks in the order ipfs-unixfs-importer
//    put them) are read by our verifying reader and written back byte-identically
//    (car-rewrite), and our exporter streams the original file out of them (car-cat).
//  Bad CARs: a flipped byte in a block (integrity), a cut-off file (truncated), a stray byte
//    after the last section (truncated) and a version-2 header must all be refused.
//
// usage: node car.mjs /path/to/aether_store_tool   (INTEROP_SEED=n to replay)

import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { CarReader, CarWriter } from '@ipld/car'
import * as dagCbor from '@ipld/dag-cbor'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { exporter, recursive } from 'ipfs-unixfs-exporter'
import { importer } from 'ipfs-unixfs-importer'
import { sha256 } from 'multiformats/hashes/sha2'
import { Checker, Rng, bytesEqual, pickSeed, runTool, toolPath } from './lib/harness.mjs'

const tool = toolPath()
const seed = pickSeed('car')
const rng = new Rng(seed)
const ck = new Checker('car')
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'aether-car-'))

const KiB = 1024
const fileSizes = [0, 1, 262144, 262145, 3 * 1024 * KiB + 17]
const profiles = [
  { tool: 'default', js: {} },
  { tool: 'unixfs-v1-2025', js: { profile: 'unixfs-v1-2025' } },
  { tool: 'unixfs-v0-2015', js: { profile: 'unixfs-v0-2015' } }
]

function randomBytes (n) {
  const b = new Uint8Array(n)
  for (let i = 0; i < n; i += 8) {
    let x = rng.next64()
    for (let j = i; j < Math.min(n, i + 8); j++) { b[j] = Number(x & 0xffn); x >>= 8n }
  }
  return b
}

async function collect (iterable) {
  const parts = []
  for await (const p of iterable) parts.push(p)
  return Buffer.concat(parts)
}

// Imports with ipfs-unixfs-importer, remembering blocks in first-put order.
async function jsImport (candidates, options) {
  const order = []
  const seen = new Set()
  const store = {
    put: async (cid, bytes) => {
      const k = cid.toString()
      if (!seen.has(k)) { seen.add(k); order.push({ cid, bytes }) }
      return cid
    }
  }
  let last
  for await (const entry of importer(candidates, store, options)) last = entry
  return { root: last.cid, path: last.path, blocks: order }
}

async function jsCar (roots, blocks) {
  const { writer, out } = CarWriter.create(roots)
  const done = collect(out)
  for (const b of blocks) await writer.put(b)
  await writer.close()
  return new Uint8Array(await done)
}

// Reads a CAR with @ipld/car and checks every block; returns a blockstore holding them.
async function checkOurCar (group, label, bytes, wantRoot) {
  const reader = await CarReader.fromBytes(bytes)
  const roots = await reader.getRoots()
  ck.check(group, roots.length === 1 && roots[0].equals(wantRoot),
    `${label}: roots ${roots.map(String)} want ${wantRoot}`)
  const store = new MemoryBlockstore()
  let n = 0
  let bad = 0
  for await (const { cid, bytes: block } of reader.blocks()) {
    const digest = await sha256.digest(block)
    if (!bytesEqual(digest.bytes, cid.multihash.bytes)) bad++
    await store.put(cid, block)
    n++
  }
  ck.check(group, bad === 0 && n > 0, `${label}: ${bad} of ${n} blocks do not hash to their CID`)
  return { store, blocks: n }
}

function runFailing (args) {
  const r = spawnSync(tool, args, { encoding: 'utf8' })
  return { status: r.status, stderr: r.stderr }
}

// ---- files -----------------------------------------------------------------------------------

for (const p of profiles) {
  for (const n of fileSizes) {
    const data = randomBytes(n)
    const file = path.join(tmp, `f-${n}.bin`)
    fs.writeFileSync(file, data)
    const label = `${p.tool} file ${n}`
    const js = await jsImport([{ content: data }], p.js)

    // ours -> JS
    const ourCar = path.join(tmp, 'ours.car')
    const [root, count] = runTool(tool, ['car-export', p.tool, file, ourCar])[0].split(' ')
    ck.check('ours->js root', root === js.root.toString(), `${label}: our root ${root}, js ${js.root}`)
    const { store, blocks } = await checkOurCar('ours->js blocks', label, fs.readFileSync(ourCar), js.root)
    ck.check('ours->js blocks', blocks === Number(count) && blocks === js.blocks.length,
      `${label}: CAR has ${blocks} blocks, tool says ${count}, js importer made ${js.blocks.length}`)
    const entry = await exporter(js.root, store)
    const back = await collect(entry.content())
    ck.check('ours->js content', bytesEqual(back, data), `${label}: exported ${back.length} bytes differ`)

    // JS -> ours
    const jsCarBytes = await jsCar([js.root], js.blocks)
    const jsCarFile = path.join(tmp, 'js.car')
    fs.writeFileSync(jsCarFile, jsCarBytes)
    const rewritten = path.join(tmp, 'rewritten.car')
    const [nroots, nblocks] = runTool(tool, ['car-rewrite', jsCarFile, rewritten])[0].split(' ')
    ck.check('js->ours rewrite', nroots === '1' && Number(nblocks) === js.blocks.length &&
      bytesEqual(fs.readFileSync(rewritten), jsCarBytes), `${label}: re-export differs from @ipld/car's bytes`)
    const catOut = path.join(tmp, 'cat.bin')
    const [catBytes] = runTool(tool, ['car-cat', jsCarFile, catOut])
    ck.check('js->ours cat', Number(catBytes) === n && bytesEqual(fs.readFileSync(catOut), data),
      `${label}: car-cat gave ${catBytes} bytes, different content`)
    console.log(`ok ${label} ${root} (${blocks} blocks)`)
  }
}

// ---- a directory tree --------------------------------------------------------------------------

const tree = path.join(tmp, 'tree')
const layout = {
  'a.txt': new TextEncoder().encode('hello\n'),
  'sub/b.bin': randomBytes(300000),
  'sub/c/d.txt': new Uint8Array(0),
  'e/': null
}
for (const [rel, bytes] of Object.entries(layout)) {
  const full = path.join(tree, rel)
  if (bytes === null) { fs.mkdirSync(full, { recursive: true }); continue }
  fs.mkdirSync(path.dirname(full), { recursive: true })
  fs.writeFileSync(full, bytes)
}
for (const p of profiles) {
  const js = await jsImport(Object.entries(layout).map(([rel, bytes]) => bytes === null
    ? { path: `tree/${rel.replace(/\/$/, '')}` }
    : { path: `tree/${rel}`, content: bytes }), p.js)
  const ourCar = path.join(tmp, 'tree.car')
  const [root] = runTool(tool, ['car-export', p.tool, tree, ourCar])[0].split(' ')
  const label = `${p.tool} tree`
  ck.check('ours->js root', root === js.root.toString(), `${label}: our root ${root}, js ${js.root}`)
  const { store } = await checkOurCar('ours->js blocks', label, fs.readFileSync(ourCar), js.root)
  let files = 0
  let dirs = 0
  for await (const basic of recursive(js.root, store)) {
    const rel = basic.path.split('/').slice(1).join('/')
    const entry = await exporter(basic.cid, store)
    if (entry.type === 'directory') {
      dirs++
      continue
    }
    files++
    const back = await collect(entry.content())
    ck.check('ours->js tree', layout[rel] != null && bytesEqual(back, layout[rel]), `${label}: ${rel} differs`)
  }
  ck.check('ours->js tree', files === 3 && dirs === 4, `${label}: exported ${files} files, ${dirs} dirs; want 3, 4`)
  const jsCarFile = path.join(tmp, 'js-tree.car')
  const jsCarBytes = await jsCar([js.root], js.blocks)
  fs.writeFileSync(jsCarFile, jsCarBytes)
  const rewritten = path.join(tmp, 'rewritten-tree.car')
  runTool(tool, ['car-rewrite', jsCarFile, rewritten])
  ck.check('js->ours rewrite', bytesEqual(fs.readFileSync(rewritten), jsCarBytes), `${label}: re-export differs`)
  console.log(`ok ${label} ${root}`)
}

// ---- bad CARs ----------------------------------------------------------------------------------

{
  const data = randomBytes(600000)
  const js = await jsImport([{ content: data }], {})
  const good = await jsCar([js.root], js.blocks)
  const bad = (label, bytes, want) => {
    const f = path.join(tmp, 'bad.car')
    fs.writeFileSync(f, bytes)
    const r = runFailing(['car-rewrite', f, path.join(tmp, 'bad-out.car')])
    ck.check('bad cars', r.status === 1 && r.stderr.includes(`error: ${want}`),
      `${label}: exit ${r.status}, stderr ${JSON.stringify(r.stderr)}, want "${want}"`)
  }
  const flipped = new Uint8Array(good)
  flipped[flipped.length - 1000] ^= 1
  bad('flipped block byte', flipped, 'integrity')
  bad('cut off', good.subarray(0, good.length - 10), 'truncated')
  bad('stray byte after last section', Buffer.concat([good, Buffer.from([0x05])]), 'truncated')
  const v2 = dagCbor.encode({ version: 2 })
  bad('version 2 header', Buffer.concat([Buffer.from([v2.length]), v2]), 'unsupported')
  const noRoots = dagCbor.encode({ version: 1 })
  bad('header without roots', Buffer.concat([Buffer.from([noRoots.length]), noRoots]), 'malformed')
  bad('empty file', new Uint8Array(0), 'truncated')
}

fs.rmSync(tmp, { recursive: true, force: true })
ck.finish()
