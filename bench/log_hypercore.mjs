// The peer for bench/log_bench.cc: hypercore 11.37.1 (bench/node/package-lock.json) appending the
// same 1 KiB payloads, one at a time and in batches of 100, into a fresh core in a temp dir.
// With the path of our log_bench binary it also runs our durable-append benchmarks and prints
// both side by side.
//
// usage: node bench/log_hypercore.mjs [path/to/log_bench]
//   (once: npm ci --prefix bench/node)
//
// Durability, as the two sides define "returned": our Stream::append returns after a synced
// RocksDB commit (fsync of the WAL). hypercore 11's append returns after its RocksDB write batch
// (rocksdb-native's default write options: WAL written, not fsynced), so it promises less.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'

const require = createRequire(new URL('./node/package.json', import.meta.url))
const Hypercore = require('hypercore')

const ONE = Number(process.env.LOG_BENCH_ONE || 3000)
const BATCHES = Number(process.env.LOG_BENCH_BATCHES || 200)

function payload (n) {
  const b = Buffer.alloc(1024, 0xab)
  b.writeUInt32LE(n, 0)
  return b
}

async function hypercoreRun () {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aether-hypercore-'))
  const core = new Hypercore(dir)
  await core.ready()
  let n = 0
  // Warm up.
  for (let i = 0; i < 50; i++) await core.append(payload(n++))
  let t = process.hrtime.bigint()
  for (let i = 0; i < ONE; i++) await core.append(payload(n++))
  const oneSec = Number(process.hrtime.bigint() - t) / 1e9
  t = process.hrtime.bigint()
  for (let j = 0; j < BATCHES; j++) {
    const batch = []
    for (let i = 0; i < 100; i++) batch.push(payload(n++))
    await core.append(batch)
  }
  const batchSec = Number(process.hrtime.bigint() - t) / 1e9
  const length = core.length
  await core.close()
  fs.rmSync(dir, { recursive: true, force: true })
  return { one: ONE / oneSec, batch: (BATCHES * 100) / batchSec, length }
}

function oursRun (bin) {
  const r = spawnSync(bin, ['--benchmark_filter=DurableAppend', '--benchmark_format=json'], {
    encoding: 'utf8', maxBuffer: 1 << 26
  })
  if (r.status !== 0) throw new Error(`${bin} failed: ${r.stderr}`)
  const out = {}
  for (const b of JSON.parse(r.stdout).benchmarks) {
    if (b.name.includes('_One')) out.one = b.items_per_second
    if (b.name.includes('_Batch100')) out.batch = b.items_per_second
  }
  return out
}

const hc = await hypercoreRun()
const fmt = (x) => x === undefined ? '-' : Math.round(x).toLocaleString('en-US').padStart(10)
console.log(`hypercore 11.37.1: ${hc.length} blocks appended`)
if (process.argv[2]) {
  const ours = oursRun(process.argv[2])
  console.log('1 KiB entries/s            aether (synced)   hypercore   ratio')
  console.log(`one at a time              ${fmt(ours.one)}  ${fmt(hc.one)}   ${(ours.one / hc.one).toFixed(2)}x`)
  console.log(`batches of 100             ${fmt(ours.batch)}  ${fmt(hc.batch)}   ${(ours.batch / hc.batch).toFixed(2)}x`)
} else {
  console.log(`hypercore one at a time: ${fmt(hc.one)} appends/s`)
  console.log(`hypercore batches of 100: ${fmt(hc.batch)} entries/s`)
}
