// A Node module hook for scripts/github-schema.mjs (registered there, see why).
//
// @actions/workflow-parser imports its bundled schemas as `import schema from '../x.json'`, written
// for bundlers; plain Node refuses a JSON import without `with { type: 'json' }`. This hook adds
// that attribute to the parser's own JSON files and leaves every other import alone.
export async function load(url, context, nextLoad) {
  if (url.endsWith('.json') && url.includes('/@actions/workflow-parser/')) {
    return nextLoad(url, { ...context, importAttributes: { ...context.importAttributes, type: 'json' } });
  }
  return nextLoad(url, context);
}
