// expect: SCRIPT_TIMEOUT
// limits: {"timeoutMs": 300}
// bound: native
var a = [];
a.length = 0xfffff;
a.sort();
return a.length;
