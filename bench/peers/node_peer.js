#!/usr/bin/env node
// The peer: what a team would build instead of EvaluateCode — a small Node.js gRPC service
// (@grpc/grpc-js + @grpc/proto-loader on proto/evaluate/v1/evaluate.proto) that runs the script as
// the body of a function of `input` with the `vm` module, in a fresh context per call, and answers
// the same result / decision shape. Its `vm` is not a security boundary (Node says so): this is the
// speed a team would get, not the isolation.
//
//   node bench/peers/node_peer.js [--port=0] [--processes=1] [--max_lifetime_s=900]
//
// Prints {"type":"listening","port":N} on stdout. Listens on 127.0.0.1 only and exits by itself
// after --max_lifetime_s (or on SIGTERM). With --processes=N, N cluster workers share the port
// (connections are dealt round-robin), so the peer can use every core as the server does.
'use strict';

const cluster = require('node:cluster');
const crypto = require('node:crypto');
const path = require('node:path');
const vm = require('node:vm');

const args = Object.fromEntries(process.argv.slice(2).map((a) => {
  const m = /^--([a-z_]+)=(.*)$/.exec(a);
  if (!m) throw new Error(`bad argument ${a}`);
  return [m[1], m[2]];
}));
const port = Number(args.port || 0);
const processes = Math.max(1, Number(args.processes || 1));
const maxLifetimeMs = Number(args.max_lifetime_s || 900) * 1000;
const protoPath = args.proto ||
    path.join(__dirname, '..', '..', 'proto', 'evaluate', 'v1', 'evaluate.proto');

setTimeout(() => process.exit(0), maxLifetimeMs).unref();
process.on('SIGTERM', () => process.exit(0));

if (cluster.isPrimary && processes > 1) {
  let announced = false;
  for (let i = 0; i < processes; i++) {
    cluster.fork().on('message', (m) => {
      if (m && m.listening && !announced) {
        announced = true;
        console.log(JSON.stringify({type: 'listening', port: m.listening, processes}));
      }
    });
  }
  cluster.on('exit', () => process.exit(1));
  setInterval(() => {}, 1 << 30);  // the primary waits for SIGTERM or the lifetime
} else {
  serve();
}

function serve() {
  const grpc = require('@grpc/grpc-js');
  const protoLoader = require('@grpc/proto-loader');
  const definition = protoLoader.loadSync(protoPath, {
    keepCase: true, longs: String, enums: String, defaults: false, oneofs: true,
  });
  const evaluate = grpc.loadPackageDefinition(definition).evaluate.v1;

  // google.protobuf.Struct / Value as proto-loader presents them <-> plain JSON values.
  const fromValue = (v) => {
    switch (v && v.kind) {
      case 'nullValue': return null;
      case 'numberValue': return v.numberValue;
      case 'stringValue': return v.stringValue;
      case 'boolValue': return v.boolValue;
      case 'structValue': return fromStruct(v.structValue);
      case 'listValue': return (v.listValue.values || []).map(fromValue);
      default: return null;
    }
  };
  const fromStruct = (s) => {
    const out = {};
    for (const [k, v] of Object.entries((s && s.fields) || {})) out[k] = fromValue(v);
    return out;
  };
  const toValue = (x) => {
    if (x === null || x === undefined) return {nullValue: 'NULL_VALUE'};
    if (typeof x === 'number') return {numberValue: x};
    if (typeof x === 'string') return {stringValue: x};
    if (typeof x === 'boolean') return {boolValue: x};
    if (Array.isArray(x)) return {listValue: {values: x.map(toValue)}};
    const fields = {};
    for (const [k, v] of Object.entries(x)) fields[k] = toValue(v);
    return {structValue: {fields}};
  };
  const seconds = (ms) => ({seconds: String(Math.floor(ms / 1000)),
                            nanos: Math.round((ms % 1000) * 1e6)});

  // Compiled scripts by source: a vm.Script runs in any context, so compile once per code.
  const scripts = new Map();
  const scriptFor = (code) => {
    let script = scripts.get(code);
    if (!script) {
      script = new vm.Script(
          `(function (input) { 'use strict';\n${code}\n})(JSON.parse(__input));`,
          {filename: 'script.js', lineOffset: -1});
      if (scripts.size > 1024) scripts.delete(scripts.keys().next().value);
      scripts.set(code, script);
    }
    return script;
  };
  const outcomes = {approve: 'APPROVE', decline: 'DECLINE', review: 'REVIEW'};
  const levels = {log: 'LOG', info: 'INFO', warn: 'WARN', error: 'ERROR'};

  function evaluateCode(call, callback) {
    const started = process.hrtime.bigint();
    const request = call.request;
    const logs = [];
    const console = {};
    for (const [name, level] of Object.entries(levels)) {
      console[name] = (...parts) => logs.push({
        level,
        message: parts.map((p) => (typeof p === 'object' ? JSON.stringify(p) : String(p))).join(' '),
      });
    }
    let result;
    const timeout = (request.limits && request.limits.timeout_ms) || 1000;
    try {
      // A fresh context per call; the input crosses as JSON so no object of ours leaks in.
      const context = vm.createContext({__input: JSON.stringify(fromStruct(request.input)), console});
      const raw = scriptFor(request.code).runInContext(context, {timeout});
      result = raw === undefined ? null : JSON.parse(JSON.stringify(raw));
    } catch (e) {
      const code = e && e.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT' ?
          grpc.status.DEADLINE_EXCEEDED : grpc.status.INVALID_ARGUMENT;
      callback({code, details: `SCRIPT_ERROR: ${e && e.message}`});
      return;
    }
    const response = {
      result: toValue(result),
      logs,
      decision_id: crypto.randomUUID(),
      code_sha256: crypto.createHash('sha256').update(request.code).digest('hex'),
    };
    if (result && typeof result === 'object' && typeof result.decision === 'string') {
      const outcome = outcomes[result.decision];
      if (!outcome) {
        callback({code: grpc.status.INVALID_ARGUMENT,
                  details: `SCRIPT_RESULT_INVALID: unknown decision ${result.decision}`});
        return;
      }
      response.decision = {outcome, reasons: (result.reasons || []).map(String)};
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    response.usage = {wall_time: seconds(ms), engine_time: seconds(ms)};
    callback(null, response);
  }

  const server = new grpc.Server();
  server.addService(evaluate.EvaluateService.service, {
    EvaluateCode: evaluateCode,
    Echo: (call, callback) => callback(null, {payload: call.request.payload}),
    CompileCode: (call, callback) => callback({code: grpc.status.UNIMPLEMENTED, details: 'peer'}),
    ListConnectors: (call, callback) => callback(null, {connectors: []}),
  });
  server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
    if (err) {
      console.error(`node_peer: ${err.message}`);
      process.exit(2);
    }
    if (cluster.isWorker) {
      process.send({listening: bound});
    } else {
      console.log(JSON.stringify({type: 'listening', port: bound, processes: 1}));
    }
  });
}
