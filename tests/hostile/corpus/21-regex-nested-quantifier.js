// expect: SCRIPT_TIMEOUT
// limits: {"timeoutMs": 300}
// bound: native
return /(a+)+b/.test('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');
