#!/usr/bin/env node
// Validates the objects `kubectl kustomize` rendered from deploy/kubernetes (a multi-document YAML):
//   1. every object against its Kubernetes schema (npm kubernetes-models 4: types and required
//      fields; it does not reject unknown fields);
//   2. the properties the deploy guide promises: non-root, read-only root fs, no capabilities,
//      seccomp, gRPC probes on the config's health port (its listen port when it has none), a
//      health port whenever mTLS is required, TLS files from Secret mounts, a grace period longer
//      than preStop + drain + the longest script, the config and vendor-key mounts, a headless
//      Service, HPA, PDB, NetworkPolicy and ServiceAccount that match the pods.
// Usage: validate_manifests.js RENDERED.yaml [--overlay] [--extract-config OUT.yaml]
//   --overlay         also require one namespace on every object and a pinned image tag
//   --extract-config  write the ConfigMap's config.yaml to OUT.yaml (for the config-load test)
// Prints one line per check ("ok: …" / "FAIL: …") and exits 1 if any failed.
'use strict';

const fs = require('fs');
const yaml = require('js-yaml');

let renderedPath = null;
let overlay = false;
let extractPath = null;
for (const args = process.argv.slice(2); args.length > 0;) {
  const arg = args.shift();
  if (arg === '--overlay') overlay = true;
  else if (arg === '--extract-config') extractPath = args.shift();
  else renderedPath = arg;
}
if (!renderedPath) {
  console.error('usage: validate_manifests.js RENDERED.yaml [--overlay] [--extract-config OUT.yaml]');
  process.exit(2);
}

let failures = 0;
function check(name, ok, detail) {
  if (ok) {
    console.log(`ok: ${name}`);
  } else {
    failures++;
    console.log(`FAIL: ${name}${detail ? `: ${detail}` : ''}`);
  }
  return ok;
}

// The server's defaults (service/config.h) for keys a config leaves out.
const CONFIG_DEFAULTS = {
  listen: '127.0.0.1:50051',
  max_message_bytes: 4 << 20,
  drain_grace_ms: 10000,
  threads: 64,
  queue_capacity: 256,
  compile_memory_bytes: 64 << 20,
  max_timeout_ms: 30000,
  max_memory_bytes: 256 << 20,
};
// Memory of the server process itself beyond script heaps, compiles and queued requests (measured
// RSS of an idle server is far below this).
const PROCESS_BASELINE_BYTES = 128 << 20;
// Each worker's TypeScript compiler heap: ≈ 23 MB of compiler, ≈ 45 MB of built-ins' declarations
// once it has type checked, and at most 96 MiB of garbage before a full collection.
const TYPESCRIPT_HEAP_BYTES = 192 << 20;

const EXPECTED_KINDS = [
  'ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'NetworkPolicy', 'PodDisruptionBudget',
  'Service', 'ServiceAccount',
];
const CLUSTER_SCOPED = new Set(['Namespace']);

// ---- 1. schema validation ----------------------------------------------------------------------
const docs = yaml.loadAll(fs.readFileSync(renderedPath, 'utf8')).filter((d) => d != null);
check('rendered objects are present', docs.length > 0, `${renderedPath} has no objects`);

function modelFor(apiVersion, kind) {
  // kubernetes-models lays classes out as <group>/<version>/<Kind>, the core group as v1/<Kind>.
  const modulePath = `kubernetes-models/${apiVersion}/${kind}`;
  try {
    return require(modulePath)[kind];
  } catch (e) {
    return null;
  }
}

const byKind = {};
for (const doc of docs) {
  const id = `${doc.kind}/${doc.metadata && doc.metadata.name}`;
  const Model = typeof doc.apiVersion === 'string' && typeof doc.kind === 'string' ?
    modelFor(doc.apiVersion, doc.kind) : null;
  if (!check(`${id} (${doc.apiVersion}) has a schema`, Model != null, 'unknown apiVersion/kind')) continue;
  let error = null;
  try {
    new Model(doc).validate();
  } catch (e) {
    error = e.message;
  }
  check(`${id} validates against the ${doc.apiVersion} ${doc.kind} schema`, error == null, error);
  (byKind[doc.kind] = byKind[doc.kind] || []).push(doc);
}
for (const kind of EXPECTED_KINDS) {
  const count = (byKind[kind] || []).length;
  check(`exactly one ${kind}`, count === 1, `found ${count}`);
}
// The property checks below read the objects' structure, so they need schema-valid objects.
if (failures > 0) {
  console.log(`${failures} check(s) failed; property checks skipped until the objects are valid`);
  process.exit(1);
}
const one = (kind) => (byKind[kind] || [])[0];
const deployment = one('Deployment');
const configMap = one('ConfigMap');

if (overlay) {
  const namespaces = new Set(docs.filter((d) => !CLUSTER_SCOPED.has(d.kind)).map((d) => d.metadata.namespace));
  const ns = [...namespaces][0];
  check('the overlay puts every object in one namespace', namespaces.size === 1 && typeof ns === 'string',
    JSON.stringify([...namespaces]));
}

// ---- the config the pods will read --------------------------------------------------------------
const configText = (configMap.data || {})['config.yaml'];
check('the ConfigMap has config.yaml', typeof configText === 'string');
let config = {};
try {
  config = yaml.load(configText || '') || {};
} catch (e) {
  check('config.yaml is YAML', false, e.message);
}
const section = (name) => config[name] || {};
const server = section('server');
const evaluator = section('evaluator');
const maxLimits = section('limits').max || {};
const pick = (value, fallback) => (value === undefined ? fallback : value);
const listen = String(pick(server.listen, CONFIG_DEFAULTS.listen));
const portOf = (address) => Number(address.slice(address.lastIndexOf(':') + 1));
const port = portOf(listen);
const onEveryInterface = (address) => address.startsWith('0.0.0.0:') || address.startsWith('[::]:');
const healthListen = String(pick(server.health_listen, ''));
const tls = server.tls || {};
const auth = section('auth');
const drainMs = pick(server.drain_grace_ms, CONFIG_DEFAULTS.drain_grace_ms);
const maxTimeoutMs = pick(maxLimits.timeout_ms, CONFIG_DEFAULTS.max_timeout_ms);
check('the config listens on every interface of the pod', onEveryInterface(listen), listen);
if (healthListen !== '') {
  check('the health port listens on every interface of the pod (probes come from the node)',
    onEveryInterface(healthListen), healthListen);
}
// Probes cannot present a client certificate: with mTLS they need the plaintext health port.
if (tls.client_ca_file) {
  check('with mTLS (server.tls.client_ca_file) the config sets server.health_listen for the probes',
    healthListen !== '');
}
if (auth.identity === 'client_certificate') {
  check('auth.identity client_certificate needs server.tls.client_ca_file', Boolean(tls.client_ca_file));
}
if (extractPath) fs.writeFileSync(extractPath, configText || '');

// ---- 2. the Deployment ------------------------------------------------------------------------
const podSpec = deployment.spec.template.spec || {};
const podLabels = (deployment.spec.template.metadata || {}).labels || {};
const podSecurity = podSpec.securityContext || {};
const containers = podSpec.containers || [];
check('the Deployment has one container', containers.length === 1, `found ${containers.length}`);
const container = containers[0] || {};
const security = container.securityContext || {};
const effective = (key) => pick(security[key], podSecurity[key]);
const subset = (selector, labels) => selector != null && Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([k, v]) => labels[k] === v);

check('the Deployment selector matches its pod labels', subset(deployment.spec.selector.matchLabels, podLabels));
check('runAsNonRoot', effective('runAsNonRoot') === true);
check('runs as uid 65532', effective('runAsUser') === 65532, String(effective('runAsUser')));
check('readOnlyRootFilesystem', security.readOnlyRootFilesystem === true);
check('allowPrivilegeEscalation is false', security.allowPrivilegeEscalation === false);
check('not privileged', security.privileged !== true);
const caps = security.capabilities || {};
check('capabilities drop ALL', (caps.drop || []).includes('ALL'));
check('no capability is added', (caps.add || []).length === 0, JSON.stringify(caps.add));
const seccomp = effective('seccompProfile') || {};
check('seccomp profile RuntimeDefault', seccomp.type === 'RuntimeDefault', JSON.stringify(seccomp));
check('no host namespaces', !podSpec.hostNetwork && !podSpec.hostPID && !podSpec.hostIPC);

// Resources: requests and limits, and a memory limit that covers what the config allows.
const QUANTITY = /^([0-9.]+)(m|k|Ki|M|Mi|G|Gi|T|Ti)?$/;
const FACTOR = { m: 1e-3, k: 1e3, Ki: 1024, M: 1e6, Mi: 1 << 20, G: 1e9, Gi: 1 << 30, T: 1e12, Ti: 2 ** 40 };
function quantity(value) {
  const match = QUANTITY.exec(String(value));
  return match ? Number(match[1]) * (match[2] ? FACTOR[match[2]] : 1) : NaN;
}
const resources = container.resources || {};
const requests = resources.requests || {};
const limits = resources.limits || {};
check('CPU and memory requests are set', requests.cpu != null && requests.memory != null, JSON.stringify(requests));
check('a memory limit is set', limits.memory != null, JSON.stringify(limits));
for (const r of ['cpu', 'memory']) {
  if (requests[r] != null && limits[r] != null) {
    check(`${r} request <= limit`, quantity(requests[r]) <= quantity(limits[r]), `${requests[r]} > ${limits[r]}`);
  }
}
const threads = pick(evaluator.threads, CONFIG_DEFAULTS.threads);
// Scripts run (and compile) in the workers, one at a time each: `workers` (0 = one per thread, at
// most one per CPU) of them, or every thread with isolation in_process. Every request in flight or
// queued holds up to max_message_bytes.
const cpus = Math.max(1, Math.floor(quantity(limits.cpu) || 1));
const running = pick(evaluator.isolation, 'workers') === 'in_process'
  ? threads
  : (pick(evaluator.workers, 0) || Math.min(threads, cpus));
const worstCase = running * pick(maxLimits.memory_bytes, CONFIG_DEFAULTS.max_memory_bytes) +
  running * (pick(evaluator.compile_memory_bytes, CONFIG_DEFAULTS.compile_memory_bytes) +
             TYPESCRIPT_HEAP_BYTES) +
  (threads + pick(evaluator.queue_capacity, CONFIG_DEFAULTS.queue_capacity)) *
    pick(server.max_message_bytes, CONFIG_DEFAULTS.max_message_bytes) +
  PROCESS_BASELINE_BYTES;
check('the memory limit covers workers x (max script heap + compile + TypeScript) + requests in flight or ' +
  'queued + the process',
  quantity(limits.memory) >= worstCase,
  `limit ${limits.memory} < ${Math.ceil(worstCase / (1 << 20))}Mi the config allows`);

// Probes: native gRPC, numeric port = the config's health port, else its listen port; readiness on
// the EvaluateService.
const exposes = (p) => (container.ports || []).some((cp) => cp.containerPort === p);
check(`the container exposes the config's port ${port}`, exposes(port), JSON.stringify(container.ports));
const probePort = healthListen !== '' ? portOf(healthListen) : port;
if (healthListen !== '') {
  check(`the container exposes the health port ${probePort}`, exposes(probePort), JSON.stringify(container.ports));
}
for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
  const grpc = (container[probe] || {}).grpc;
  check(`${probe} is a gRPC probe`, grpc != null, JSON.stringify(container[probe]));
  if (grpc) check(`${probe} uses the numeric port ${probePort}`, grpc.port === probePort, String(grpc.port));
}
check('readinessProbe checks evaluate.v1.EvaluateService',
  ((container.readinessProbe || {}).grpc || {}).service === 'evaluate.v1.EvaluateService');

// Shutdown: preStop delay, then the server drains, then scripts may run to their maximum.
const preStop = (container.lifecycle || {}).preStop || {};
let preStopSeconds = 0;
if (preStop.exec && Array.isArray(preStop.exec.command) && /(^|\/)sleep$/.test(preStop.exec.command[0])) {
  preStopSeconds = Number(preStop.exec.command[1]);
} else if (preStop.sleep) {
  preStopSeconds = Number(preStop.sleep.seconds);
}
check('preStop sleeps before SIGTERM', preStopSeconds > 0, JSON.stringify(preStop));
const grace = podSpec.terminationGracePeriodSeconds;
const needed = preStopSeconds + drainMs / 1000 + maxTimeoutMs / 1000;
check(`terminationGracePeriodSeconds > preStop ${preStopSeconds} s + drain_grace_ms ${drainMs} + ` +
  `limits.max.timeout_ms ${maxTimeoutMs} = ${needed} s`, typeof grace === 'number' && grace > needed, String(grace));

// Volumes and mounts.
const volumes = Object.fromEntries((podSpec.volumes || []).map((v) => [v.name, v]));
const mounts = container.volumeMounts || [];
const mountAt = (path) => mounts.find((m) => m.mountPath === path);
const tmp = mountAt('/tmp');
check('an emptyDir is mounted at /tmp', tmp != null && volumes[tmp.name] && volumes[tmp.name].emptyDir != null);
const configMount = mountAt('/etc/evaluatecode');
const configVolume = configMount && volumes[configMount.name];
check('the config directory /etc/evaluatecode is the generated ConfigMap',
  configVolume != null && configVolume.configMap != null && configVolume.configMap.name === configMap.metadata.name,
  JSON.stringify(configVolume));
check('the config mount is read-only and whole (no subPath, so updates arrive)',
  configMount != null && configMount.readOnly === true && configMount.subPath == null);
const argv = [...(container.command || []), ...(container.args || [])];
check('the container keeps the image entrypoint\'s --config /etc/evaluatecode/config.yaml',
  argv.length === 0 || argv.join(' ').includes('/etc/evaluatecode/config.yaml'), argv.join(' '));
const vendorMount = mountAt('/var/run/secrets/evaluatecode/vendors');
const vendorVolume = vendorMount && volumes[vendorMount.name];
check('vendor keys are a Secret volume at /var/run/secrets/evaluatecode/vendors',
  vendorVolume != null && vendorVolume.secret != null && typeof vendorVolume.secret.secretName === 'string');
check('the vendor-key mount is read-only and whole (no subPath, so rotations arrive)',
  vendorMount != null && vendorMount.readOnly === true && vendorMount.subPath == null);
for (const m of mounts) {
  check(`volume mount ${m.name} refers to a pod volume`, volumes[m.name] != null);
}
// Each TLS file lies under a Secret mount (the deepest mount holding the path is the one that
// shows), mounted whole so renewals arrive, and required: the server cannot start without it.
const tlsMounts = new Set();
for (const key of ['cert_file', 'key_file', 'client_ca_file']) {
  const file = String(tls[key] || '');
  if (file === '') continue;
  const mount = mounts.filter((m) => file.startsWith(`${m.mountPath.replace(/\/$/, '')}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  const secret = mount && volumes[mount.name] && volumes[mount.name].secret;
  check(`server.tls.${key} ${file} lies under a mounted Secret volume`, secret != null,
    mount ? `under ${mount.mountPath} (volume ${mount.name}, not a Secret)` : 'under no mount');
  if (secret) tlsMounts.add(mount);
}
for (const mount of tlsMounts) {
  check(`the TLS Secret mount ${mount.mountPath} is read-only and whole (no subPath, so renewals arrive)`,
    mount.readOnly === true && mount.subPath == null);
  check(`the TLS Secret of ${mount.mountPath} is not optional (the server cannot start without it)`,
    volumes[mount.name].secret.optional !== true);
}

// ---- the other objects --------------------------------------------------------------------------
const serviceAccount = one('ServiceAccount');
if (serviceAccount) {
  check('the ServiceAccount does not mount an API token', serviceAccount.automountServiceAccountToken === false);
  check('the pods use that ServiceAccount', podSpec.serviceAccountName === serviceAccount.metadata.name,
    podSpec.serviceAccountName);
}
check('the pods do not mount an API token', podSpec.automountServiceAccountToken === false);

const service = one('Service');
if (service) {
  const spec = service.spec || {};
  check('the Service is headless (clusterIP: None) for client-side round_robin', spec.clusterIP === 'None');
  check('the Service selects the pods', subset(spec.selector, podLabels));
  const servicePorts = spec.ports || [];
  check('the Service has one port', servicePorts.length === 1);
  const sp = servicePorts[0] || {};
  const target = typeof sp.targetPort === 'string' ?
    ((container.ports || []).find((p) => p.name === sp.targetPort) || {}).containerPort :
    pick(sp.targetPort, sp.port);
  check(`the Service reaches the server's port ${port}`, target === port, String(sp.targetPort));
}

const hpa = one('HorizontalPodAutoscaler');
if (hpa) {
  check('the HPA is autoscaling/v2', hpa.apiVersion === 'autoscaling/v2');
  const ref = (hpa.spec || {}).scaleTargetRef || {};
  check('the HPA scales the Deployment', ref.kind === 'Deployment' && ref.name === deployment.metadata.name);
  check('the HPA scales on CPU', ((hpa.spec || {}).metrics || []).some((m) => m.type === 'Resource' && (m.resource || {}).name === 'cpu'));
  check('the HPA keeps at least 2 replicas', ((hpa.spec || {}).minReplicas || 1) >= 2, String((hpa.spec || {}).minReplicas));
  if (deployment.spec.replicas != null) {
    check('Deployment replicas equal the HPA minimum (an apply does not fight the HPA)',
      deployment.spec.replicas === (hpa.spec || {}).minReplicas, `${deployment.spec.replicas} vs ${(hpa.spec || {}).minReplicas}`);
  }
}

const pdb = one('PodDisruptionBudget');
if (pdb) {
  check('the PodDisruptionBudget is policy/v1', pdb.apiVersion === 'policy/v1');
  const spec = pdb.spec || {};
  check('the PodDisruptionBudget selects the pods', subset((spec.selector || {}).matchLabels, podLabels));
  check('the PodDisruptionBudget leaves room to drain a node',
    spec.maxUnavailable != null || (typeof spec.minAvailable === 'number' &&
      spec.minAvailable < (hpa ? (hpa.spec || {}).minReplicas : deployment.spec.replicas)));
}

const policy = one('NetworkPolicy');
if (policy) {
  check('the NetworkPolicy selects the pods', subset(((policy.spec || {}).podSelector || {}).matchLabels, podLabels));
  const types = (policy.spec || {}).policyTypes || [];
  check('the NetworkPolicy restricts ingress and egress', types.includes('Ingress') && types.includes('Egress'));
  const ingress = (policy.spec || {}).ingress || [];
  check('ingress has rules', ingress.length > 0);
  for (const [i, rule] of ingress.entries()) {
    check(`ingress rule ${i} names its callers`, (rule.from || []).length > 0);
    check(`ingress rule ${i} opens only TCP ${port}`, (rule.ports || []).length > 0 &&
      rule.ports.every((p) => p.port === port && (p.protocol || 'TCP') === 'TCP'), JSON.stringify(rule.ports));
  }
  const egress = (policy.spec || {}).egress || [];
  const allowed = new Set(['UDP/53', 'TCP/53', 'TCP/443']);
  const opened = new Set();
  for (const [i, rule] of egress.entries()) {
    const ports = (rule.ports || []).map((p) => `${p.protocol || 'TCP'}/${p.port}`);
    check(`egress rule ${i} names its ports`, ports.length > 0);
    check(`egress rule ${i} opens only DNS and HTTPS`, ports.every((p) => allowed.has(p)), ports.join(' '));
    ports.forEach((p) => opened.add(p));
    if (ports.includes('TCP/443')) {
      for (const peer of rule.to || []) {
        if (peer.ipBlock && peer.ipBlock.cidr === '0.0.0.0/0') {
          check(`egress rule ${i} excludes the cloud metadata range 169.254.0.0/16`,
            (peer.ipBlock.except || []).includes('169.254.0.0/16'));
        }
      }
    }
  }
  check('egress allows DNS over UDP and TCP, and HTTPS', [...allowed].every((p) => opened.has(p)),
    [...opened].join(' '));
}

if (overlay) {
  const image = String(container.image || '');
  const tagged = /@sha256:[0-9a-f]{64}$/.test(image) || /:[^/:]+$/.test(image);
  check('the overlay pins the image (tag or digest, not latest)', tagged && !image.endsWith(':latest'), image);
}

console.log(failures === 0 ? 'all checks passed' : `${failures} check(s) failed`);
process.exit(failures === 0 ? 0 : 1);
