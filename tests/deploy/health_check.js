#!/usr/bin/env node
// Asks grpc.health.v1.Health/Check of ADDRESS for each SERVICE, as a kubelet gRPC probe does
// (plaintext), or with a client certificate (--tls). Messages are hand-encoded: the request is
// field 1 (service, a string), the reply field 1 (status, an enum; SERVING = 1).
// Usage: health_check.js ADDRESS [--tls CA.pem CERT.pem KEY.pem] SERVICE...
//   (--tls CA.pem "" "": TLS without a client certificate)
// Prints "SERVICE: STATUS" per service; exits 0 only if every one is SERVING.
'use strict';

const fs = require('fs');
const grpc = require('@grpc/grpc-js');

const args = process.argv.slice(2);
const address = args.shift();
let credentials = grpc.credentials.createInsecure();
if (args[0] === '--tls') {
  const [ca, cert, key] = args.splice(0, 4).slice(1).map((f) => (f ? fs.readFileSync(f) : null));
  credentials = grpc.credentials.createSsl(ca, key, cert);
}
const STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];
const encode = (service) => {
  const bytes = Buffer.from(service);  // service names are far below 128 bytes: a one-byte length
  return bytes.length === 0 ? bytes : Buffer.concat([Buffer.from([0x0a, bytes.length]), bytes]);
};
const decode = (reply) => STATUS[reply.length >= 2 && reply[0] === 0x08 ? reply[1] : 0];

const client = new grpc.Client(address, credentials);
let failures = 0;
let pending = args.length;
for (const service of args) {
  client.makeUnaryRequest('/grpc.health.v1.Health/Check', encode, (b) => b, service,
    { deadline: Date.now() + 5000 }, (error, reply) => {
      const status = error ? `error ${grpc.status[error.code]}: ${error.details}` : decode(reply);
      console.log(`${JSON.stringify(service)}: ${status}`);
      if (status !== 'SERVING') failures++;
      if (--pending === 0) {
        client.close();
        process.exit(failures === 0 ? 0 : 1);
      }
    });
}
