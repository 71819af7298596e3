#!/usr/bin/env bash
# Every object rendered from the base and the example overlay validates against its Kubernetes
# schema (npm kubernetes-models 4 + js-yaml), and the Deployment and its companions keep the
# promised properties (validate_manifests.js lists them). Then a few broken variants of the overlay
# must be rejected, so the checks are known to bite.
set -euo pipefail
source "$TEST_SRCDIR/evaluatecode/tests/deploy/deploy_test_lib.sh"
require_kubectl
require_node_modules

base="$TEST_TMPDIR/base.yaml"
overlay="$TEST_TMPDIR/overlay.yaml"
render base "$base"
render overlays/example "$overlay"

echo "--- base"
node "$validator" "$base" && ok "base validates" || fail "base"
echo "--- overlays/example"
node "$validator" "$overlay" --overlay && ok "overlay validates" || fail "overlay"

# broken NAME EXPECTED-FAIL-LINE JS: apply JS to the overlay's objects (`docs`, `dep` = the
# Deployment, `c` = its container) and expect the validator to fail with that line.
broken() {
  local name=$1 expected=$2 mutation=$3 file="$TEST_TMPDIR/broken.yaml" output
  node -e '
    const fs = require("fs"), yaml = require("js-yaml");
    const docs = yaml.loadAll(fs.readFileSync(process.argv[1], "utf8")).filter(Boolean);
    const dep = docs.find((d) => d.kind === "Deployment"), c = dep.spec.template.spec.containers[0];
    eval(process.argv[2]);
    fs.writeFileSync(process.argv[3], docs.map((d) => yaml.dump(d)).join("---\n"));
  ' "$overlay" "$mutation" "$file"
  if output=$(node "$validator" "$file" --overlay); then
    fail "broken overlay accepted: $name"
  elif grep -qF "FAIL: $expected" <<<"$output"; then
    ok "rejects $name"
  else
    fail "broken overlay ($name) failed without 'FAIL: $expected':"; grep FAIL <<<"$output"
  fi
}
echo "--- broken variants"
broken "a string where the schema wants an integer" "Deployment/evaluatecode validates" \
  'dep.spec.replicas = "three"'
broken "a Deployment without a selector" "Deployment/evaluatecode validates" 'delete dep.spec.selector'
broken "a writable root filesystem" "readOnlyRootFilesystem" 'c.securityContext.readOnlyRootFilesystem = false'
broken "root" "runs as uid 65532" 'c.securityContext.runAsUser = 0; dep.spec.template.spec.securityContext.runAsUser = 0'
broken "kept capabilities" "capabilities drop ALL" 'c.securityContext.capabilities = {drop: ["NET_RAW"]}'
broken "an HTTP probe" "livenessProbe is a gRPC probe" 'c.livenessProbe = {httpGet: {path: "/", port: 8080}}'
broken "a probe on another port" "readinessProbe uses the numeric port 8081" 'c.readinessProbe.grpc.port = 8080'
broken "a probe on the mTLS port" "livenessProbe uses the numeric port 8081" 'c.livenessProbe.grpc.port = 50051'
broken "a health port the container does not expose" "the container exposes the health port 8081" \
  'c.ports = c.ports.filter((p) => p.containerPort !== 8081)'
broken "a named gRPC probe port (the schema wants a number)" "Deployment/evaluatecode validates" 'c.readinessProbe.grpc.port = "grpc"'
broken "a grace period shorter than preStop + drain + max script time" "terminationGracePeriodSeconds" \
  'dep.spec.template.spec.terminationGracePeriodSeconds = 45'
broken "a longer max script time the grace period does not cover" "terminationGracePeriodSeconds" \
  'const cm = docs.find((d) => d.kind === "ConfigMap"); cm.data["config.yaml"] = cm.data["config.yaml"].replace("timeout_ms: 30000", "timeout_ms: 60000")'
broken "a config listening on loopback" "the config listens on every interface" \
  'const cm = docs.find((d) => d.kind === "ConfigMap"); cm.data["config.yaml"] = cm.data["config.yaml"].replace("0.0.0.0:50051", "127.0.0.1:50051")'
broken "a health port on loopback" "the health port listens on every interface" \
  'const cm = docs.find((d) => d.kind === "ConfigMap"); cm.data["config.yaml"] = cm.data["config.yaml"].replace("0.0.0.0:8081", "127.0.0.1:8081")'
broken "mTLS without a health port" "with mTLS (server.tls.client_ca_file) the config sets server.health_listen" \
  'const cm = docs.find((d) => d.kind === "ConfigMap"); cm.data["config.yaml"] = cm.data["config.yaml"].replace(/^ *health_listen:.*\n/m, "")'
broken "client-certificate callers without a client CA" "auth.identity client_certificate needs server.tls.client_ca_file" \
  'const cm = docs.find((d) => d.kind === "ConfigMap"); cm.data["config.yaml"] = cm.data["config.yaml"].replace(/^ *client_ca_file:.*\n/m, "")'
broken "TLS files without their Secret mount" "server.tls.key_file /var/run/secrets/evaluatecode/tls/tls.key lies under a mounted Secret" \
  'c.volumeMounts = c.volumeMounts.filter((m) => m.name !== "tls")'
broken "a TLS file in the ConfigMap" "server.tls.cert_file /etc/evaluatecode/tls.crt lies under a mounted Secret" \
  'const cm = docs.find((d) => d.kind === "ConfigMap"); cm.data["config.yaml"] = cm.data["config.yaml"].replace("/var/run/secrets/evaluatecode/tls/tls.crt", "/etc/evaluatecode/tls.crt")'
broken "an optional TLS Secret" "the TLS Secret of /var/run/secrets/evaluatecode/tls is not optional" \
  'dep.spec.template.spec.volumes.find((v) => v.name === "tls").secret.optional = true'
broken "bigger script heaps than the memory limit holds" "the memory limit covers" \
  'const cm = docs.find((d) => d.kind === "ConfigMap"); cm.data["config.yaml"] = cm.data["config.yaml"].replace("memory_bytes: 268435456", "memory_bytes: 1073741824")'
broken "a vendor key mounted with subPath" "the vendor-key mount is read-only and whole" \
  'c.volumeMounts.find((m) => m.name === "vendor-keys").subPath = "sift"'
broken "a ClusterIP Service" "the Service is headless" 'docs.find((d) => d.kind === "Service").spec.clusterIP = "10.0.0.1"'
broken "the plaintext health port open to pods" "ingress rule 0 opens only TCP 50051" \
  'docs.find((d) => d.kind === "NetworkPolicy").spec.ingress[0].ports.push({protocol: "TCP", port: 8081})'
broken "egress to any port" "egress rule 1 opens only DNS and HTTPS" \
  'docs.find((d) => d.kind === "NetworkPolicy").spec.egress[1].ports.push({protocol: "TCP", port: 5432})'
broken "a mounted API token" "the pods do not mount an API token" \
  'dep.spec.template.spec.automountServiceAccountToken = true'
broken "an unpinned image" "the overlay pins the image" 'c.image = "registry.example.com/identity/evaluatecode:latest"'

[ "$failures" -eq 0 ] && echo "all checks passed" || { echo "$failures check(s) failed"; exit 1; }
