// expect: SCRIPT_RUNTIME_ERROR
// limits: {"timeoutMs": 300}
// bound: engine
print('to stdout');
