// expect: SCRIPT_TIMEOUT
// limits: {"timeoutMs": 300}
// bound: engine
var o = { set x(v) { for (;;) {} } };
o.x = 1;
