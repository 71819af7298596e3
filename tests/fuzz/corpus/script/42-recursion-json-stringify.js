// expect: SCRIPT_RUNTIME_ERROR
// limits: {"timeoutMs": 300}
// bound: engine
var o = {};
for (var i = 0; i < 100000; i++) o = { next: o };
return JSON.stringify(o).length;
