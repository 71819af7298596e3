// expect: SCRIPT_TIMEOUT
// limits: {"timeoutMs": 300}
// bound: engine
return JSON.parse('{"a":1}', function (k, v) { for (;;) {} });
