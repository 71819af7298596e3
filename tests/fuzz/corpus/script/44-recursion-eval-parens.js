// expect: SCRIPT_RUNTIME_ERROR
// limits: {"timeoutMs": 300}
// bound: engine
return eval(new Array(20001).join('(') + '1' + new Array(20001).join(')'));
