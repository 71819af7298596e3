// expect: SCRIPT_RUNTIME_ERROR
// limits: {"timeoutMs": 300}
// bound: engine
Object.setPrototypeOf(Array.prototype, null);
