// expect: SCRIPT_TIMEOUT
// limits: {"timeoutMs": 300}
// bound: native
var a = [];
a[2e7] = 1;
return a.join().length;
