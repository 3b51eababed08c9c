// UnixFS import interop: Aether's importer (src/store) against ipfs-unixfs-importer.
//
// For each profile — the importer's defaults spelled out (CIDv1, raw leaves, 256 KiB fixed
// chunks, balanced, 174 links), its `unixfs-v1-2025` and `unixfs-v0-2015` profiles, and two
// small custom shapes that make deep trees cheap (1 KiB chunks, 4 links, raw and dag-pb leaves)
// — files of the interesting sizes (empty, 1 byte, exactly one chunk, one chunk + 1, a full
// 174-link node and one more, 1 MiB boundaries, 64 MiB of seeded random bytes, a file of
// repeated chunks) and a nested directory tree are imported by both sides. The root CID and the
// root's DAG size (what a parent link's Tsize would hold) must be equal.
//
// The directory tree is handed to the JS importer as importer([{path: 'tree/<rel>', content},
// {path: 'tree/<empty-dir>'}, ...]) with wrapWithDirectory false; its last output ('tree') is
// the root. The tool walks the same tree on disk (hidden files included).
//
// usage: node unixfs.mjs /path/to/aether_store_tool   (INTEROP_SEED=n to replay)

import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { importer } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
import { Checker, pickSeed, runTool, toolPath } from './lib/harness.mjs'

const tool = toolPath()
const seed = pickSeed('unixfs')
const ck = new Checker('unixfs')
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'aether-unixfs-'))

// Blocks are only hashed, never kept: the importer calls nothing but put().
const discard = { put: async (cid) => cid }

// Deterministic bytes from the seed (xorshift128+ over 32-bit halves; speed over quality).
function seededBytes (n, s) {
  const out = new Uint8Array(n)
  const w = new Uint32Array(out.buffer, 0, Math.floor(n / 4))
  let a = Number(BigInt.asUintN(32, s)) | 1
  let b = Number(BigInt.asUintN(32, s >> 32n)) | 2
  for (let i = 0; i < w.length; i++) {
    let t = a ^ (a << 11)
    a = b
    b = (b ^ (b >>> 19)) ^ (t ^ (t >>> 8))
    w[i] = b
  }
  for (let i = w.length * 4; i < n; i++) out[i] = (i * 131 + 7) & 0xff
  return out
}

const MiB = 1024 * 1024
const CHUNK = 262144
const big = seededBytes(64 * MiB, seed)
const bigFile = path.join(tmp, 'big.bin')
fs.writeFileSync(bigFile, big)

const sizes = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 174 * CHUNK, 174 * CHUNK + 1, MiB, MiB + 1, 64 * MiB]
const smallSizes = [0, 1, 1023, 1024, 1025, 4096, 4097, 16384, 16385, 65537, 300000]

const profiles = [
  { name: 'default', tool: 'default', sizes,
    js: { cidVersion: 1, rawLeaves: true, chunker: fixedSize({ chunkSize: CHUNK }), layout: balanced({ maxChildrenPerNode: 174 }) } },
  { name: 'unixfs-v1-2025', tool: 'unixfs-v1-2025', sizes, js: { profile: 'unixfs-v1-2025' } },
  { name: 'unixfs-v0-2015', tool: 'unixfs-v0-2015', sizes, js: { profile: 'unixfs-v0-2015' } },
  { name: 'v0-2015-explicit', tool: 'unixfs-v0-2015', sizes: [0, 1, CHUNK + 1, 174 * CHUNK + 1],
    js: { cidVersion: 0, rawLeaves: false, chunker: fixedSize({ chunkSize: CHUNK }), layout: balanced({ maxChildrenPerNode: 174 }) } },
  { name: 'custom-raw-1k-4', tool: 'custom:1:1024:4:raw', sizes: smallSizes,
    js: { cidVersion: 1, rawLeaves: true, chunker: fixedSize({ chunkSize: 1024 }), layout: balanced({ maxChildrenPerNode: 4 }) } },
  { name: 'custom-pb-v0-1k-4', tool: 'custom:0:1024:4:pb', sizes: smallSizes,
    js: { cidVersion: 0, rawLeaves: false, chunker: fixedSize({ chunkSize: 1024 }), layout: balanced({ maxChildrenPerNode: 4 }) } },
  { name: 'custom-pb-v1-1k-4', tool: 'custom:1:1024:4:pb', sizes: smallSizes,
    js: { cidVersion: 1, rawLeaves: false, chunker: fixedSize({ chunkSize: 1024 }), layout: balanced({ maxChildrenPerNode: 4 }) } }
]

async function jsImport (candidates, options) {
  let last
  for await (const entry of importer(candidates, discard, { ...options })) last = entry
  return last
}

// Content in 1 MiB pieces, as a stream would deliver it.
function * pieces (bytes) {
  for (let i = 0; i < bytes.length; i += MiB) yield bytes.subarray(i, Math.min(bytes.length, i + MiB))
  if (bytes.length === 0) yield bytes
}

function writeCase (name, bytes) {
  const f = path.join(tmp, name)
  if (bytes === big) return bigFile
  fs.writeFileSync(f, bytes)
  return f
}

// ---- files ---------------------------------------------------------------------------------

const cases = []
for (const n of sizes.concat(smallSizes)) {
  if (!cases.some((c) => c.label === `random-${n}`)) cases.push({ label: `random-${n}`, bytes: n === big.length ? big : big.subarray(0, n) })
}
// Repeated chunks (duplicate leaves) and a mostly-zero file.
const rep = new Uint8Array(3 * CHUNK + 5)
for (let i = 0; i < rep.length; i++) rep[i] = i % CHUNK % 251
cases.push({ label: 'repeated-chunks', bytes: rep })
cases.push({ label: 'zeros-600000', bytes: new Uint8Array(600000) })
const files = new Map(cases.map((c) => [c.label, { ...c, file: writeCase(c.label, c.bytes) }]))

for (const p of profiles) {
  const wanted = [...files.values()].filter((c) =>
    (c.label.startsWith('random-') && p.sizes.includes(c.bytes.length)) ||
    (!c.label.startsWith('random-') && p.sizes === sizes))
  for (const c of wanted) {
    const js = await jsImport([{ content: pieces(c.bytes) }], p.js)
    const [cid, contentSize, dagSize, blocks] = runTool(tool, ['import-file', p.tool, c.file])[0].split(' ')
    const ok = ck.check(`file ${p.name}`, cid === js.cid.toString() && BigInt(dagSize) === js.size &&
      Number(contentSize) === c.bytes.length,
    `${p.name} ${c.label}: ours ${cid} dag-size ${dagSize}, js ${js.cid} size ${js.size}`)
    if (ok) console.log(`ok ${p.name} ${c.label} ${cid} (${blocks} blocks)`)
  }
}

// ---- directories ---------------------------------------------------------------------------

const tree = path.join(tmp, 'tree')
const layout = {
  'a.txt': new TextEncoder().encode('hello\n'),
  '.hidden': new TextEncoder().encode('x'),
  'Z-upper.txt': new TextEncoder().encode('upper'),
  'ä-utf8.txt': new TextEncoder().encode('umlaut'),
  '10.txt': new Uint8Array(0),
  '9.txt': big.subarray(0, 9),
  'b/c.bin': big.subarray(100, 300100),
  'b/d/': null, // empty directory
  'b/e/f.txt': new Uint8Array(0),
  'b/e/g/h/deep.bin': big.subarray(5, CHUNK + 6),
  'b/ab': big.subarray(1, 2),
  'b/a': big.subarray(2, 3),
  'empty-dir/': null,
  'big.bin': big.subarray(0, 174 * CHUNK + 1)
}
for (const [rel, bytes] of Object.entries(layout)) {
  const full = path.join(tree, rel)
  if (bytes === null) {
    fs.mkdirSync(full, { recursive: true })
  } else {
    fs.mkdirSync(path.dirname(full), { recursive: true })
    fs.writeFileSync(full, bytes)
  }
}
const candidates = () => Object.entries(layout).map(([rel, bytes]) => bytes === null
  ? { path: `tree/${rel.replace(/\/$/, '')}` }
  : { path: `tree/${rel}`, content: pieces(bytes) })

const dirProfiles = profiles.filter((p) => ['default', 'unixfs-v1-2025', 'unixfs-v0-2015', 'custom-pb-v0-1k-4'].includes(p.name))
for (const p of dirProfiles) {
  const js = await jsImport(candidates(), p.js)
  const [cid, dagSize] = runTool(tool, ['import-dir', p.tool, tree])[0].split(' ')
  const ok = ck.check(`dir ${p.name}`, js.path === 'tree' && cid === js.cid.toString() && BigInt(dagSize) === js.size,
    `${p.name} tree: ours ${cid} dag-size ${dagSize}, js ${js.path} ${js.cid} size ${js.size}`)
  if (ok) console.log(`ok ${p.name} tree ${cid}`)
}

// An empty directory on its own.
const emptyDir = path.join(tmp, 'empty')
fs.mkdirSync(emptyDir)
for (const p of dirProfiles) {
  const js = await jsImport([{ path: 'empty' }], p.js)
  const [cid] = runTool(tool, ['import-dir', p.tool, emptyDir])[0].split(' ')
  ck.check(`dir ${p.name}`, cid === js.cid.toString(), `${p.name} empty dir: ours ${cid}, js ${js.cid}`)
}

fs.rmSync(tmp, { recursive: true, force: true })
ck.finish()
