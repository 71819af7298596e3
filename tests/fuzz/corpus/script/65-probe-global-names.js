// expect: OK
// limits: {"timeoutMs": 300}
// bound: engine
// result: -3
var names = Object.getOwnPropertyNames(Function('return this')());
return names.indexOf('Duktape') + names.indexOf('CBOR') + names.indexOf('require');
