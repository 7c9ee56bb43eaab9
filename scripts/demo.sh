#!/usr/bin/env bash
# The end of the README's first command: a real sandbox on the embedded default backend
# (ext.saas-stub, no servers needed), created from tests/fixtures/sample-repo, listed, looked into
# and destroyed, printing each step and the command behind it.
set -euo pipefail
cd "$(dirname "$0")/.."
export SANDBOXER_HOME="${SANDBOXER_HOME:-$PWD/.sandboxer-home}"

sandboxer() {
  printf '\n$ sandboxer %s\n' "$*" >&2
  node packages/cli/bin/sandboxer.js "$@"
}
json_field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[process.argv[1]]))' "$1"; }

echo "==> 1/4 the profiles you can create (state in $SANDBOXER_HOME)"
sandboxer profiles

echo; echo "==> 2/4 create a sandbox from tests/fixtures/sample-repo"
id=$(sandboxer create --profile saas-stub --input repo=tests/fixtures/sample-repo --consumer demo --verbose --json | json_field id)
sandboxer status "$id"

echo; echo "==> 3/4 it is listed, and the repo is inside it"
sandboxer list
dir=$(node packages/cli/bin/sandboxer.js status "$id" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).reachability.remote_dir))')
printf '\n$ ls -A %s\n' "$dir" >&2
ls -A "$dir"

echo; echo "==> 4/4 destroy it"
sandboxer destroy "$id" --verbose
sandboxer list --all
echo; echo "demo finished: sandbox $id was created, listed and destroyed"
