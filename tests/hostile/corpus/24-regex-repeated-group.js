// expect: SCRIPT_TIMEOUT
// limits: {"timeoutMs": 300}
// bound: native
return /(x+x+)+y/.test(new Array(60).join('x'));
