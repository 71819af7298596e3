#!/usr/bin/env bash
# `kubectl kustomize` (whichever kubectl is on PATH: Debian's kubernetes-client 1.20 on a fresh
# machine, or a newer one) renders the base and the example overlay, with the objects we expect.
set -euo pipefail
source "$TEST_SRCDIR/evaluatecode/tests/deploy/deploy_test_lib.sh"
require_kubectl

for dir in base overlays/example; do
  out="$TEST_TMPDIR/${dir//\//_}.yaml"
  if render "$dir" "$out"; then ok "kubectl kustomize $dir renders"; else fail "kubectl kustomize $dir"; continue; fi
  for kind in ServiceAccount ConfigMap Service Deployment HorizontalPodAutoscaler PodDisruptionBudget NetworkPolicy; do
    if grep -q "^kind: $kind$" "$out"; then ok "$dir renders a $kind"; else fail "$dir renders no $kind"; fi
  done
  # The generated ConfigMap carries a content hash, and the Deployment refers to that very name.
  cm=$(grep -o 'evaluatecode-config-[a-z0-9]*' "$out" | sort -u)
  if [ "$(wc -l <<<"$cm")" = 1 ] && [ "$cm" != evaluatecode-config- ]; then
    ok "$dir: the ConfigMap name has a content hash and the Deployment uses it ($cm)"
  else
    fail "$dir: ConfigMap names: $cm"
  fi
done

overlay="$TEST_TMPDIR/overlays_example.yaml"
if [ -s "$overlay" ]; then
  grep -q '^  namespace: evaluatecode$' "$overlay" && ok "overlay sets the namespace" || fail "overlay namespace"
  grep -q 'image: registry.example.com/identity/evaluatecode:0.1.0$' "$overlay" &&
    ok "overlay sets the image name and tag" || fail "overlay image"
  grep -q '^  replicas: 3$' "$overlay" && ok "overlay sets replicas" || fail "overlay replicas"
  grep -q '^  minReplicas: 3$' "$overlay" && ok "overlay patches the HPA minimum" || fail "overlay HPA"
  grep -A4 '^          requests:$' "$overlay" | grep -q 'cpu: "2"' &&
    ok "overlay patches the resources" || fail "overlay resources"
fi

[ "$failures" -eq 0 ] && echo "all checks passed" || { echo "$failures check(s) failed"; exit 1; }
