// expect: SCRIPT_TIMEOUT
// limits: {"timeoutMs": 300}
// bound: engine
for (;;) { try { for (;;) {} } catch (e) { continue; } }
