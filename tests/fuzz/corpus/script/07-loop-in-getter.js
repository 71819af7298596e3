// expect: SCRIPT_TIMEOUT
// limits: {"timeoutMs": 300}
// bound: engine
var o = { get x() { for (;;) {} } };
return o.x;
