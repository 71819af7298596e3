// expect: SCRIPT_TIMEOUT
// limits: {"timeoutMs": 300}
// bound: engine
function f() { try { f(); } catch (e) { f(); } }
f();
