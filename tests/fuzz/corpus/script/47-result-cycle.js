// expect: SCRIPT_RESULT_INVALID
// limits: {"timeoutMs": 300}
// bound: engine
var a = [];
a.push({ back: a });
return a;
