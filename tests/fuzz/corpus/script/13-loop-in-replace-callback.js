// expect: SCRIPT_TIMEOUT
// limits: {"timeoutMs": 300}
// bound: engine
return 'abc'.replace(/b/, function () { for (;;) {} });
