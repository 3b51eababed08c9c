// Shared plumbing for the interop scripts: find and run aether_interop_tool, a seeded PRNG,
// hex helpers and a checker that counts passes / failures and sets the exit code.
//
// The tool speaks line protocols on stdin / stdout (see interop_tool.cc). Expected values in
// every script come from the npm packages, never from the tool.

import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'

// Path of the C++ driver: first CLI argument, else $AETHER_INTEROP_TOOL.
export function toolPath () {
  const p = process.argv[2] || process.env.AETHER_INTEROP_TOOL
  if (!p) {
    console.error('usage: node <script>.mjs /path/to/aether_interop_tool ' +
      '(or set AETHER_INTEROP_TOOL)')
    process.exit(2)
  }
  return p
}

// Runs `tool args...` with `lines` joined on stdin; returns stdout split into lines (without the
// trailing empty one). Any non-zero exit or signal aborts the script: the driver itself failing
// is never a pass.
export function runTool (tool, args, lines = []) {
  const input = lines.length ? lines.join('\n') + '\n' : ''
  const r = spawnSync(tool, args, { input, encoding: 'utf8', maxBuffer: 1 << 28 })
  if (r.error) throw new Error(`cannot run ${tool}: ${r.error.message}`)
  if (r.status !== 0) {
    throw new Error(`${tool} ${args.join(' ')} exited with ${r.status ?? r.signal}\n` +
      `stderr: ${r.stderr}`)
  }
  const out = r.stdout.split('\n')
  if (out[out.length - 1] === '') out.pop()
  if (out.length !== lines.length && lines.length > 0) {
    throw new Error(`${args[0]}: sent ${lines.length} lines, got ${out.length} back`)
  }
  return out
}

// Seed: $INTEROP_SEED (decimal or 0x-hex, < 2^64) to replay a run, else random. Always printed.
export function pickSeed (name) {
  const env = process.env.INTEROP_SEED
  const seed = env ? BigInt(env) : randomBytes(8).readBigUInt64BE()
  console.log(`${name}: seed ${seed} (replay with INTEROP_SEED=${seed})`)
  return seed
}

// splitmix64: tiny, seedable, good enough to drive test generators.
export class Rng {
  constructor (seed) { this.s = BigInt.asUintN(64, BigInt(seed)) }
  next64 () {
    this.s = BigInt.asUintN(64, this.s + 0x9e3779b97f4a7c15n)
    let z = this.s
    z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n)
    z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn)
    return z ^ (z >> 31n)
  }
  // Uniform integer in [0, n), n < 2^32.
  int (n) { return Number(this.next64() % BigInt(n)) }
  bool () { return (this.next64() & 1n) === 1n }
  pick (arr) { return arr[this.int(arr.length)] }
  bytes (n) {
    const b = new Uint8Array(n)
    for (let i = 0; i < n; i++) b[i] = Number(this.next64() & 0xffn)
    return b
  }
  // A finite float64 that is not an integer (JS cannot keep 1.0 apart from 1; see docs).
  float () {
    for (;;) {
      const buf = new DataView(new ArrayBuffer(8))
      const kind = this.int(3)
      if (kind === 0) {
        buf.setBigUint64(0, this.next64()) // any bit pattern
      } else if (kind === 1) {
        buf.setFloat64(0, (this.int(2000001) - 1000000) / (1 + this.int(1000)))
      } else {
        buf.setFloat64(0, Number(this.next64() >> 11n) / 2 ** 53 * (this.bool() ? 1 : -1))
      }
      const f = buf.getFloat64(0)
      if (Number.isFinite(f) && !Number.isInteger(f)) return f
    }
  }
}

export function toHex (bytes) { return Buffer.from(bytes).toString('hex') }
export function fromHex (hex) { return new Uint8Array(Buffer.from(hex, 'hex')) }
export function b64url (bytes) { return Buffer.from(bytes).toString('base64url') }
export function bytesEqual (a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

// Counts checks; failures print immediately with whatever context the caller gives.
export class Checker {
  constructor (name) {
    this.name = name
    this.counts = new Map() // group -> {pass, fail}
    this.notes = new Map() // group -> [count, examples[]]
    this.failures = 0
  }
  group (g) {
    if (!this.counts.has(g)) this.counts.set(g, { pass: 0, fail: 0 })
    return this.counts.get(g)
  }
  check (g, ok, detail) {
    const c = this.group(g)
    if (ok) {
      c.pass++
    } else {
      c.fail++
      this.failures++
      if (c.fail <= 10) console.log(`FAIL [${g}] ${typeof detail === 'function' ? detail() : detail}`)
      if (c.fail === 11) console.log(`FAIL [${g}] ... (further failures in this group not printed)`)
    }
    return ok
  }
  // Not a failure: a documented difference (e.g. we reject a non-canonical form JS tolerates).
  note (g, example) {
    if (!this.notes.has(g)) this.notes.set(g, [0, []])
    const n = this.notes.get(g)
    n[0]++
    if (n[1].length < 3) n[1].push(example)
  }
  finish () {
    for (const [g, [count, ex]] of this.notes) {
      console.log(`note [${g}]: ${count} case(s), e.g. ${ex.join(' | ')}`)
    }
    const parts = []
    let pass = 0
    for (const [g, c] of this.counts) {
      parts.push(`${g} ${c.pass}/${c.pass + c.fail}`)
      pass += c.pass
    }
    const verdict = this.failures === 0 ? 'PASS' : 'FAIL'
    console.log(`${this.name}: ${verdict} ${pass} checks passed, ${this.failures} failed (${parts.join(', ')})`)
    process.exit(this.failures === 0 ? 0 : 1)
  }
}

// Parses a driver error line "ERR <errc> <message>"; null if the line is not an error.
export function parseErr (line) {
  if (!line.startsWith('ERR ')) return null
  const rest = line.slice(4)
  const sp = rest.indexOf(' ')
  return sp < 0 ? { code: rest, message: '' } : { code: rest.slice(0, sp), message: rest.slice(sp + 1) }
}
