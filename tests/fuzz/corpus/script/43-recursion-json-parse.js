// expect: SCRIPT_RUNTIME_ERROR
// limits: {"timeoutMs": 300}
// bound: engine
return JSON.parse(new Array(100001).join('[') + new Array(100001).join(']'));
