// Node 20 lacks Promise.withResolvers (ES2024), which libp2p 3.x uses; preloaded with
// `node --import ./polyfill.mjs`. Our own few lines, per the ES2024 definition.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers () {
    let resolve
    let reject
    const promise = new this((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}
