import { run } from './run.js';

/** The entry ncc bundles (dist/index.js): starts the action. Everything else lives in run.ts. */
void run();
