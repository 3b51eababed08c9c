// `aether vault add` side by side with the Node baseline on the same file, one run:
//   ipfs-unixfs-importer (default profile) into blockstore-fs and into blockstore-level
//   (persistent, unencrypted, not synced), and `aether vault add` (encrypted, synced before it
//   prints the CID) into a fresh node. Every run must give the same root CID.
// The npm packages are the pinned ones of tests/interop (package-lock.json there).
// usage: node bench/store_node.mjs <aether binary> [MiB = 256] [rounds = 2]
// Prints MB/s (10^6 bytes per second) per run and the best of the rounds ("warm").
import { spawnSync } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const interop = path.join(here, '..', 'tests', 'interop')
const aether = process.argv[2]
const mib = Number(process.argv[3] || 256)
const rounds = Number(process.argv[4] || 2)
if (!aether || !(mib > 0)) {
  console.error('usage: node bench/store_node.mjs <aether binary> [MiB] [rounds]')
  process.exit(2)
}

// ESM resolves bare names from the importing file's directory; the packages live in
// tests/interop/node_modules, so load each through its package.json "exports".
async function load (pkg) {
  const dir = path.join(interop, 'node_modules', pkg)
  const pj = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'))
  let entry = pj.exports?.['.'] ?? pj.exports ?? pj.module ?? pj.main
  while (entry && typeof entry === 'object') entry = entry.import ?? entry.default
  return import(pathToFileURL(path.join(dir, entry)).href)
}
const { importer } = await load('ipfs-unixfs-importer')
const { FsBlockstore } = await load('blockstore-fs')
const { LevelBlockstore } = await load('blockstore-level')

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'aether-store-bench-'))
const file = path.join(tmp, 'input.bin')
{
  const fd = fs.openSync(file, 'w')
  const chunk = Buffer.alloc(1 << 20)
  for (let i = 0; i < mib; i++) { crypto.randomFillSync(chunk); fs.writeSync(fd, chunk) }
  fs.closeSync(fd)
}
const bytes = mib * (1 << 20)

async function nodeImport (store) {
  await store.open?.()
  let root
  // 256 KiB reads, as the importer's default chunker wants them.
  const content = fs.createReadStream(file, { highWaterMark: 1 << 18 })
  for await (const e of importer([{ content }], store)) root = e.cid
  await store.close?.()
  return root.toString()
}

const rows = []
function report (name, secs, cid) {
  const mbs = bytes / secs / 1e6
  console.log(`${name.padEnd(34)} ${secs.toFixed(2).padStart(7)} s ${mbs.toFixed(0).padStart(6)} MB/s  ${cid}`)
  return mbs
}
async function measure (name, fn) {
  let best = 0
  let cid
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint()
    cid = await fn(r)
    const secs = Number(process.hrtime.bigint() - t0) / 1e9
    best = Math.max(best, report(`${name} (round ${r + 1})`, secs, cid))
  }
  rows.push({ name, best, cid })
}

console.log(`input: ${mib} MiB of random bytes (${bytes} bytes); ${rounds} rounds each`)
await measure('ipfs-unixfs-importer -> blockstore-fs', (r) => nodeImport(new FsBlockstore(path.join(tmp, `fs${r}`))))
await measure('ipfs-unixfs-importer -> blockstore-level', (r) => nodeImport(new LevelBlockstore(path.join(tmp, `level${r}`))))
await measure('aether vault add (encrypted, synced)', (r) => {
  const env = { ...process.env, AETHER_HOME: path.join(tmp, `home${r}`) }
  delete env.AETHER_PASSPHRASE
  const init = spawnSync(aether, ['init', '--insecure-dev'], { env })
  if (init.status !== 0) throw new Error(`aether init: ${init.stderr}`)
  const add = spawnSync(aether, ['vault', 'add', file], { env })
  if (add.status !== 0) throw new Error(`aether vault add: ${add.stderr}`)
  return add.stdout.toString().trim()
})

console.log('\nbest of the rounds (warm):')
for (const r of rows) console.log(`${r.name.padEnd(40)} ${r.best.toFixed(0).padStart(6)} MB/s`)
const fastestNode = Math.max(rows[0].best, rows[1].best)
console.log(`aether / faster Node store: ${(rows[2].best / fastestNode).toFixed(2)}x`)
const cids = new Set(rows.map((r) => r.cid))
fs.rmSync(tmp, { recursive: true, force: true })
if (cids.size !== 1) {
  console.error(`root CIDs differ: ${[...cids].join(' ')}`)
  process.exit(1)
}
