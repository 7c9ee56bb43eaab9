import { CommanderError } from 'commander';
import { buildProgram } from './cli.js';
import { CommandNotRun, EXIT, exitCodeFor } from './exit-codes.js';

/**
 * Runs the CLI and maps what went wrong to an exit code — the only place that does. With --json an
 * error is also printed as `{"error": {code, message, details}}` on stdout so scripts can parse it.
 */
async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    // A command that ends with a code of its own (exec: the command's; gc: 5 when something resisted).
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (thrown) {
    if (thrown instanceof CommandNotRun) {
      await report(thrown.reason, argv);
      return EXIT.commandNotRun;
    }
    return report(thrown, argv);
  }
}

/** Says what went wrong (on stderr; with --json also on stdout) and returns its exit code. */
async function report(error: unknown, argv: string[]): Promise<number> {
  if (error instanceof CommanderError) {
    // Help and --version "fail" with exit code 0; every other commander error is a usage error.
    return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  // Only the errors module: the main entry would load the whole engine just to tell the error's kind.
  const { inTermsOf, SandboxerError } = await import('@sand-boxer/core/errors');
  const json = argv.includes('--json');
  if (error instanceof SandboxerError) {
    // Core names the field at fault; the user is told the flag that sets it.
    const message = inTermsOf(error, (await import('./error-terms.js')).cliTerms);
    if (json) process.stdout.write(`${JSON.stringify({ error: { ...error.toJSON(), message } }, null, 2)}\n`);
    process.stderr.write(`sandboxer: ${message}\n`);
    return exitCodeFor(error.code);
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  if (json)
    process.stdout.write(`${JSON.stringify({ error: { code: 'INTERNAL', message: String(error) } })}\n`);
  process.stderr.write(`sandboxer: unexpected error (please report it): ${message}\n`);
  return EXIT.internal;
}

// `sandboxer list | head -1`: a reader that stops early is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(process.exitCode ?? 0);
});
process.exitCode = await main(process.argv);
