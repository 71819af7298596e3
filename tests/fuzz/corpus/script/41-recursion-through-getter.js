// expect: SCRIPT_RUNTIME_ERROR
// limits: {"timeoutMs": 300}
// bound: engine
var o = { get x() { return this.x; } };
return o.x;
