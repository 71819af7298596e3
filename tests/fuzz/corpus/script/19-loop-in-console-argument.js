// expect: SCRIPT_TIMEOUT
// limits: {"timeoutMs": 300}
// bound: engine
console.log({ toJSON: function () { for (;;) {} } });
