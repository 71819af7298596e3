// expect: OK
// limits: {"timeoutMs": 300}
// bound: engine
// result: "undefined"
return typeof (0, eval)('this').Duktape;
