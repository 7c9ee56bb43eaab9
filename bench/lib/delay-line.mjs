// One direction of a simulated WAN link: every chunk written in is written out `delayMs` later, in
// order (so a request/response costs 2 × delay, the round-trip time, on top of loopback's). This
// kernel has no netem qdisc, so the delay is made in user space by the bench's TCP proxy. By default
// it delays only: bandwidth is loopback's, and the proxy reads as fast as the sender writes (an
// unbounded buffer), so a bulk transfer is held only by the SSH channel's window / RTT. With a
// `link` (a rate in Mbit/s, shared by every connection going the same way) each chunk also waits
// for the bytes before it to be serialized at that rate, as on a real link's bottleneck.
// Backpressure still applies on the way out: when the receiver is slow, the sender is paused.

/**
 * @param {import('node:net').Socket} source where chunks come from (paused when `target` is full)
 * @param {import('node:net').Socket} target where they go, `delayMs` later
 * @param {number} delayMs
 * @param {(chunk: Buffer) => void} onDeliver called as each chunk is written to `target`
 * @param {number} [notBefore] performance.now() before which nothing is sent (a chunk pushed earlier
 *   goes at notBefore + delayMs): the client's first flight waits for the simulated TCP handshake
 * @param {{ mbps: number, freeAt: number }} [link] a rate-limited link this direction shares
 * @returns {{ push: (chunk: Buffer) => void, end: () => void, destroy: () => void }}
 *   end: half-close `target` once everything before it is out; destroy: close it, likewise
 */
export function delayLine(source, target, delayMs, onDeliver, notBefore = 0, link = undefined) {
  /** @type {{ at: number, chunk?: Buffer, close?: 'end' | 'destroy' }[]} */
  const queue = [];
  let scheduled = false;
  const schedule = (at) => {
    scheduled = true;
    setTimeout(flush, Math.max(0, at - performance.now()));
  };
  const flush = () => {
    scheduled = false;
    const now = performance.now();
    while (queue.length > 0 && queue[0].at <= now + 0.5) {
      const item = queue.shift();
      if (target.destroyed) continue;
      if (item.chunk) {
        onDeliver(item.chunk);
        if (!target.write(item.chunk) && !source.isPaused()) {
          source.pause();
          target.once('drain', () => source.resume());
        }
      } else if (item.close === 'end') target.end();
      else target.destroy();
    }
    if (queue.length > 0) schedule(queue[0].at);
  };
  const enqueue = (item) => {
    let sent = Math.max(performance.now(), notBefore);
    if (link && link.mbps > 0 && item.chunk) {
      sent = Math.max(sent, link.freeAt) + (item.chunk.length * 8) / (link.mbps * 1000);
      link.freeAt = sent;
    }
    const at = sent + delayMs;
    queue.push({ at, ...item });
    if (!scheduled) schedule(at);
  };
  return {
    push: (chunk) => enqueue({ chunk }),
    end: () => enqueue({ close: 'end' }),
    destroy: () => enqueue({ close: 'destroy' }),
  };
}
