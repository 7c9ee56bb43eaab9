import { isKeeper, runKeeper } from './keeper.js';
import { main } from './main.js';
import { post } from './post.js';
import { state } from './state.js';

/**
 * The action: the main step, the post step or the keeper, whichever this process is. Exported (and
 * started by index.ts, never on import) so that `@github/local-action` can import this module and call
 * `run()` itself. Main saves `isPost` first thing, so the post run of the same bundle finds it set; the
 * keeper (port forwards for the job) is the bundle started with `--keeper <id>`.
 */
export async function run(): Promise<void> {
  if (isKeeper()) return runKeeper();
  if (state.isPost()) return post();
  return main();
}
