// expect: SCRIPT_RUNTIME_ERROR
// limits: {"timeoutMs": 300}
// bound: engine
function f(n) { return f(n + 1) + 1; }
return f(0);
