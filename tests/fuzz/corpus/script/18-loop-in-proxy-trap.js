// expect: SCRIPT_TIMEOUT
// limits: {"timeoutMs": 300}
// bound: engine
var p = new Proxy({}, { get: function () { for (;;) {} } });
return p.anything;
