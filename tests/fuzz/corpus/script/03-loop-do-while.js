// expect: SCRIPT_TIMEOUT
// limits: {"timeoutMs": 300}
// bound: engine
do {} while (true);
