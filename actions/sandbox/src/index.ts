import { isKeeper, runKeeper } from './keeper.js';
import { main } from './main.js';
import { post } from './post.js';
import { state } from './state.js';

/**
 * One bundle for both steps and the keeper: main saves `isPost` first thing, so the post run finds
 * it set; the keeper (port forwards for the job) is this bundle started with `--keeper <id>`.
 */
if (isKeeper()) void runKeeper();
else if (state.isPost()) void post();
else void main();
