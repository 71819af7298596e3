// expect: SCRIPT_TIMEOUT
// limits: {"timeoutMs": 300}
// bound: engine
try { while (true) {} } finally { while (true) {} }
