// expect: SCRIPT_TIMEOUT
// limits: {"timeoutMs": 300}
// bound: native
return /^(a|aa)+$/.test(new Array(80).join('a') + 'b');
