// expect: SCRIPT_TIMEOUT
// limits: {"timeoutMs": 300}
// bound: engine
// `return b(n + 1)` is a proper tail call in Duktape: no stack grows, so it is an endless loop.
function a(n) { return b(n + 1); }
function b(n) { return a(n + 1); }
return a(0);
