// expect: SCRIPT_RUNTIME_ERROR
// limits: {"timeoutMs": 300}
// bound: engine
Object.defineProperty(Function('return this')(), 'x', { value: 1 });
