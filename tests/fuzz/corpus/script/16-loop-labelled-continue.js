// expect: SCRIPT_TIMEOUT
// limits: {"timeoutMs": 300}
// bound: engine
outer: for (;;) { for (var i = 0; i < 10; i++) { continue outer; } }
