#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (the README's second command ends here):
# bring up the real testbed (sshd + dockerd; needs root), build, install the packed CLI and core,
# check generated files are fresh,
# validate the action files and lint the HTTP API's OpenAPI document (redocly.yaml),
# lint, the import rules (no cycles, no layer importing one above it: .dependency-cruiser.cjs),
# typecheck, unit tests, e2e tests. Every step runs even if an earlier one failed, so one run shows
# every problem; the last line is "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
rm -rf .reports && mkdir -p .reports
failed_steps=()

step() {
  local name=$1
  shift
  printf '\n==> %s\n' "$name"
  local started=$SECONDS
  if "$@"; then
    printf '==> %s ok (%ss)\n' "$name" $((SECONDS - started))
  else
    printf '==> %s FAILED (%ss)\n' "$name" $((SECONDS - started))
    failed_steps+=("$name")
  fi
}

generated_files_fresh() {
  pnpm -s generate && git diff --exit-code --stat -- packages/core/src/catalog/builtin-declarations.generated.ts packages/core/src/state/record-format.generated.ts extensions profiles registry docs/cli.md ||
    { echo 'generated files are stale: run `pnpm build && pnpm generate` and commit the result'; return 1; }
}

if [ -x tests/testbed/up.sh ]; then
  step testbed bash tests/testbed/up.sh
  # shellcheck disable=SC1091
  [ -f "${SANDBOXER_TESTBED_DIR:-/tmp/sandboxer-testbed}/env.sh" ] && . "${SANDBOXER_TESTBED_DIR:-/tmp/sandboxer-testbed}/env.sh"
fi
step build pnpm build
# The CLI and core packed and installed with npm, as users get them (scripts/check-packages.sh).
step packages bash scripts/check-packages.sh
step generated generated_files_fresh
action_dist_fresh() {
  # `pnpm build` has just rebuilt actions/sandbox/dist with ncc; it must equal what is committed.
  git diff --exit-code --stat -- actions/sandbox/dist && [ -z "$(git status --porcelain -- actions/sandbox/dist)" ] ||
    { echo 'actions/sandbox/dist is stale: run `pnpm build` and commit actions/sandbox/dist'; return 1; }
}

step action-dist action_dist_fresh
step action-yaml node scripts/validate-actions.mjs
step openapi node scripts/lint-openapi.mjs
step lint pnpm lint
step architecture pnpm -s deps
step typecheck pnpm typecheck
step unit pnpm test
step e2e pnpm test:e2e

printf '\n==> summary\n'
[ ${#failed_steps[@]} -gt 0 ] && echo "failed steps: ${failed_steps[*]}"
node scripts/summarize-tests.mjs .reports/core.json .reports/client.json .reports/cli.json .reports/action.json .reports/server.json .reports/e2e.json
[ ${#failed_steps[@]} -eq 0 ]
