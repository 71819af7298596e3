// expect: SCRIPT_TIMEOUT
// limits: {"timeoutMs": 300}
// bound: engine
for (;;) {}
