// expect: OK
// limits: {"timeoutMs": 300}
// bound: engine
// result: "logged"
var o = {};
o.self = o;
console.log(o);
return 'logged';
