#!/usr/bin/env bash
# The packages as users get them (CI step `packages`, after `build`):
#  1. @sand-boxer/cli, packed with `npm pack` (as the issue reporter did), installs with npm into an
#     empty prefix and works there: --version, a saas-stub create → list → destroy in a fresh git repo,
#     and a command that reaches a host loads node-ssh, the one dependency the bundle leaves out.
#  2. @sand-boxer/core, packed with `pnpm pack` (which rewrites `workspace:` ranges; core has none
#     today, and this keeps it so), is enough to write an extension out of the tree:
#     tests/fixtures/out-of-tree-extension is installed with npm against the tarball, typechecked, and
#     runs the conformance suite from `@sand-boxer/core/conformance`.
# Needs the npm registry (the fixture's devDependencies) and built packages (`pnpm build`).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

work=$(mktemp -d "${TMPDIR:-/tmp}/sandboxer-packages-XXXXXX")
trap 'rm -rf "$work"' EXIT
npm_quiet=(--no-audit --no-fund --loglevel=error)

say() { printf '  -- %s\n' "$*"; }
fail() {
  printf 'check-packages: %s\n' "$*" >&2
  exit 1
}
# Reads JSON on stdin and prints the value of a JavaScript expression over it (`j`).
json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);console.log(eval(process.argv[1]))})' "$1"; }

[ -f packages/cli/bundle/index.js ] && [ -f packages/core/dist/index.js ] ||
  fail 'the packages are not built: run `pnpm build` first'

# --- 1. the CLI -------------------------------------------------------------------------------
say 'packing @sand-boxer/cli with npm pack'
cli_tgz="$work/$(cd packages/cli && npm pack --pack-destination "$work" --silent | tail -1)"
packed_files=$(tar tzf "$cli_tgz" | sed 's|^package/||' | grep -v '^bin/\|^bundle/' | sort | tr '\n' ' ')
[ "$packed_files" = 'LICENSE README.md package.json ' ] ||
  fail "the CLI tarball should hold bin/, bundle/, package.json, README.md and LICENSE only; it also has: $packed_files"
workspace_deps=$(tar xzOf "$cli_tgz" package/package.json |
  json 'Object.entries({...j.dependencies,...j.optionalDependencies,...j.peerDependencies}).filter(([,v])=>v.startsWith("workspace:")).map(([k])=>k).join(" ")')
[ -z "$workspace_deps" ] ||
  fail "the CLI's dependencies name workspace packages ($workspace_deps): npm cannot install those; the bundle inlines them, so make them devDependencies"

say "installing it with npm into an empty prefix ($work/prefix)"
npm i -g --prefix "$work/prefix" "$cli_tgz" "${npm_quiet[@]}" >/dev/null
sandboxer="$work/prefix/bin/sandboxer"

expected_version=$(json 'j.version' <packages/cli/package.json)
version=$("$sandboxer" --version)
[ "$version" = "$expected_version" ] || fail "sandboxer --version printed '$version', expected '$expected_version'"
say "sandboxer --version: $version"

# A user's repository elsewhere, and a state directory of its own; nothing of this shell's sandboxer
# settings (a team server, a shared state, a config dir) may leak in.
unset SANDBOXER_SERVER SANDBOXER_TOKEN SANDBOXER_STATE SANDBOXER_CONFIG_DIR SANDBOXER_HOSTS SANDBOXER_SSH_KEY
export SANDBOXER_HOME="$work/home"
mkdir -p "$work/repo" && cd "$work/repo"
git init -q . && printf 'hello\n' >README.md
id=$("$sandboxer" create --profile saas-stub --input repo=. --json | json 'j.state === "ready" ? j.id : ""')
[ -n "$id" ] || fail 'sandboxer create --profile saas-stub did not report a ready sandbox'
[ -f "$("$sandboxer" status "$id" --json | json 'j.reachability.remote_dir')/README.md" ] ||
  fail "sandbox $id does not hold the repository's files"
say "create: sandbox $id is ready, with the repository copied in"
listed=$("$sandboxer" list --json | json "j.filter(r => r.id === '$id').map(r => r.state).join()")
[ "$listed" = ready ] || fail "sandboxer list shows sandbox $id as '$listed', expected ready"
say "list: $id ready"
destroyed=$("$sandboxer" destroy "$id" --json | json 'j.state')
[ "$destroyed" = destroyed ] || fail "sandboxer destroy $id left it '$destroyed'"
live=$("$sandboxer" list --json | json 'j.length')
[ "$live" = 0 ] || fail "after destroy, sandboxer list still shows $live live sandboxes"
say "destroy: $id destroyed, nothing left live"

# node-ssh stays outside the bundle (ssh2 breaks when bundled), so it must come with the package:
# a teardown on a port nobody listens on must fail with "connection refused", not a missing module.
node - "$work" <<'EOF'
const { generateKeyPairSync } = require('node:crypto');
const { writeFileSync } = require('node:fs');
const { createServer } = require('node:net');
const work = process.argv[2];
const server = createServer().listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  server.close(() => {
    const key = `${work}/key`;
    const { privateKey } = generateKeyPairSync('ec', {
      namedCurve: 'prime256v1',
      privateKeyEncoding: { type: 'sec1', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    writeFileSync(key, privateKey, { mode: 0o600 });
    const target = { name: 'box', ssh: { address: '127.0.0.1', port, user: 'ci', identity_file: key, insecure_ignore_host_key: true } };
    const now = new Date().toISOString();
    const handle = { sandbox_id: 'abcdefabcdef', host: 'box', target, remote_dir: '/tmp/x', compose_project: 'sbx-x' };
    const record = {
      id: 'abcdefabcdef', state: 'ready', profile: 'profile.compose-e2e', extension: 'ext.compose-ssh',
      host: 'box', consumer: 'check', created_at: now, updated_at: now, expires_at: now, ttl_seconds: 60,
      target, handle,
    };
    writeFileSync(`${work}/record.json`, JSON.stringify(record));
  });
});
EOF
ssh_error=$("$sandboxer" destroy abcdefabcdef --record "$work/record.json" --json 2>"$work/ssh.err" |
  json 'j.error ? j.error.message : "no error"' || true)
case "$ssh_error" in
*'connection refused'*) say 'a command that reaches a host loads node-ssh from the installed package' ;;
*) fail "a teardown over SSH should fail with 'connection refused' (node-ssh loaded); it said: $ssh_error $(cat "$work/ssh.err")" ;;
esac
cd "$root"

# --- 2. core, and an extension written against it -----------------------------------------------
say 'packing @sand-boxer/core with pnpm pack'
core_tgz="$work/$(cd packages/core && pnpm pack --pack-destination "$work" | grep '\.tgz$' | xargs basename)"
[ -f "$core_tgz" ] || fail "pnpm pack of packages/core produced no tarball in $work"
workspace_deps=$(tar xzOf "$core_tgz" package/package.json | json 'JSON.stringify(j).includes("workspace:") ? "yes" : ""')
[ -z "$workspace_deps" ] || fail 'the packed core still names a workspace: range'

say 'installing tests/fixtures/out-of-tree-extension with npm against the core tarball'
cp -r tests/fixtures/out-of-tree-extension "$work/extension"
cd "$work/extension"
npm i "$core_tgz" "${npm_quiet[@]}" >/dev/null
say 'typechecking the extension against the packed declarations'
npm run -s typecheck
say 'running the conformance suite from @sand-boxer/core/conformance'
npm test -s

say 'the CLI and core install and work from their tarballs'
