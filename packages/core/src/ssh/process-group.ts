/**
 * The first stderr line of a stoppable command: its process group id, taken off before the
 * caller sees stderr.
 */
export class GroupReport {
  static readonly MARK = 'sand-boxer-pgid ';
  static readonly PREFIX = `printf '${GroupReport.MARK}%s\\n' "$$" >&2;`;
  pgid: number | undefined;
  #head: Buffer | undefined = Buffer.alloc(0);

  /** What of `chunk` is the command's own stderr. */
  take(chunk: Buffer): Buffer {
    if (this.#head === undefined) return chunk;
    const head = Buffer.concat([this.#head, chunk]);
    const end = head.indexOf(0x0a);
    if (end < 0 && head.length < 64) {
      this.#head = head;
      return Buffer.alloc(0);
    }
    this.#head = undefined;
    const line = head.subarray(0, Math.max(end, 0)).toString('latin1');
    if (end < 0 || !line.startsWith(GroupReport.MARK)) return head;
    this.pgid = Number(line.slice(GroupReport.MARK.length)) || undefined;
    return head.subarray(end + 1);
  }
}
