// expect: SCRIPT_RUNTIME_ERROR
// limits: {"timeoutMs": 300}
// bound: engine
return Function('return Duktape')().version;
