// expect: SCRIPT_TIMEOUT
// limits: {"timeoutMs": 300}
// bound: engine
[1, 2, 3].forEach(function () { while (true) {} });
