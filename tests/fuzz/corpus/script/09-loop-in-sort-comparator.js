// expect: SCRIPT_TIMEOUT
// limits: {"timeoutMs": 300}
// bound: engine
return [3, 1, 2].sort(function (a, b) { for (;;) {} });
