import { main } from './main.js';
import { post } from './post.js';
import { state } from './state.js';

/** One bundle for both steps: main saves `isPost` first thing, so the post run finds it set. */
if (state.isPost()) void post();
else void main();
