# Sourced by the tests in tests/deploy. Finds the source workspace (for node_modules and for
# kustomize, which must read the real tree, not Bazel's symlinked runfiles) and the tools.
runfiles="$TEST_SRCDIR/evaluatecode"
workspace=$(dirname "$(readlink -f "$runfiles/package.json")")
kustomize_root="$workspace/deploy/kubernetes"
validator="$workspace/tests/deploy/validate_manifests.js"
export NODE_PATH="$workspace/node_modules"

failures=0
ok() { echo "ok: $1"; }
fail() { echo "FAIL: $1"; failures=$((failures + 1)); }

require_kubectl() {
  command -v kubectl >/dev/null 2>&1 || { echo "kubectl not on PATH: run tools/setup"; exit 1; }
  echo "using $(command -v kubectl): $(kubectl version --client 2>/dev/null | head -1)"
}
require_node_modules() {
  command -v node >/dev/null 2>&1 || { echo "node not on PATH: run tools/setup"; exit 1; }
  for module in kubernetes-models js-yaml; do
    [ -d "$NODE_PATH/$module" ] || { echo "$module not in $NODE_PATH: run tools/setup"; exit 1; }
  done
}

# render DIR OUT: kubectl kustomize DIR into OUT (kustomize's deprecation warnings go to stderr).
render() {
  kubectl kustomize "$kustomize_root/$1" >"$2" 2>"$2.stderr" ||
    { echo "kubectl kustomize $1 failed:"; cat "$2.stderr"; return 1; }
}
