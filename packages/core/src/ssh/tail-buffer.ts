/** Bounded output of remote commands: enough to explain a failure, however much is logged. */

export function lastLines(text: string, count: number): string {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}

/** Keeps the last `max` bytes of a stream: enough to explain a failure, bounded however much is logged. */
export class TailBuffer {
  #chunks: Buffer[] = [];
  #size = 0;
  #dropped = false;
  constructor(readonly max: number) {}

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    // Drop whole chunks from the front only while what remains still covers `max` bytes.
    while (this.#chunks.length > 1 && this.#size - (this.#chunks[0] as Buffer).length >= this.max) {
      this.#size -= (this.#chunks.shift() as Buffer).length;
      this.#dropped = true;
    }
  }

  /** True once anything was dropped (the text starts with `…`). */
  get truncated(): boolean {
    return this.#dropped || this.#size > this.max;
  }

  text(): string {
    let buffer = Buffer.concat(this.#chunks);
    if (buffer.length > this.max) {
      buffer = buffer.subarray(buffer.length - this.max);
      this.#dropped = true;
    }
    return (this.#dropped ? '…' : '') + buffer.toString('utf8');
  }
}
