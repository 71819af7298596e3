// expect: SCRIPT_RESULT_INVALID
// limits: {"timeoutMs": 2000, "maxOutputBytes": 65536}
// bound: engine
var a = [];
for (var i = 0; i < 100000; i++) a.push(i);
return a;
