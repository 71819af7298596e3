// expect: SCRIPT_RUNTIME_ERROR
// limits: {"timeoutMs": 300}
// bound: engine
return require('fs').readFileSync('/etc/passwd');
