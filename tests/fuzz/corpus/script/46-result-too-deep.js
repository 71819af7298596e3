// expect: SCRIPT_RESULT_INVALID
// limits: {"timeoutMs": 300}
// bound: engine
var o = {};
for (var i = 0; i < 1000; i++) o = { o: o };
return o;
