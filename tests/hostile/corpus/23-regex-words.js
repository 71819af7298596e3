// expect: SCRIPT_TIMEOUT
// limits: {"timeoutMs": 300}
// bound: native
return /^(\w+\s?)*$/.test('an input that never ends with a valid character sequence!!!!!!!!!!!!!!!!#');
