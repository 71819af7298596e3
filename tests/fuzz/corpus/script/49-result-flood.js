// expect: SCRIPT_RESULT_INVALID
// limits: {"timeoutMs": 2000, "maxOutputBytes": 1048576}
// bound: engine
return new Array(3 << 20).join('x');
