// expect: SCRIPT_TIMEOUT
// limits: {"timeoutMs": 300}
// bound: engine
return 1 + { valueOf: function () { for (;;) {} } };
