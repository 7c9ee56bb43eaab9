// Results are committed, and Biome checks committed JSON: this prints JSON the way Biome formats it
// (objects expanded, an array of plain values on one line when it fits in 110 columns), so a fresh
// result file passes `pnpm lint` as written. Fractions are cut to 4 decimals (0.1 µs, 0.01% …).

const WIDTH = 110;

function scalar(value) {
  if (typeof value === 'number' && Number.isFinite(value) && !Number.isInteger(value)) {
    return JSON.stringify(Number(value.toFixed(4)));
  }
  return JSON.stringify(value) ?? 'null';
}

function format(value, indent, prefixLength) {
  const pad = '  '.repeat(indent + 1);
  const close = '  '.repeat(indent);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    if (value.every((v) => v === null || typeof v !== 'object')) {
      const inline = `[${value.map(scalar).join(', ')}]`;
      if (prefixLength + inline.length + 1 <= WIDTH) return inline;
    }
    const items = value.map((v) => `${pad}${format(v, indent + 1, pad.length)}`);
    return `[\n${items.join(',\n')}\n${close}]`;
  }
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    const items = entries.map(([k, v]) => {
      const key = `${pad}${JSON.stringify(k)}: `;
      return `${key}${format(v, indent + 1, key.length)}`;
    });
    return `{\n${items.join(',\n')}\n${close}}`;
  }
  return scalar(value);
}

/** `value` as Biome-formatted JSON text with a final newline. */
export function formatJson(value) {
  return `${format(value, 0, 0)}\n`;
}
