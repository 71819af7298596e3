// expect: OK
// limits: {"timeoutMs": 300}
// bound: engine
// result: "no hidden keys"
var names = Object.getOwnPropertyNames(Object.prototype).join(',');
return names.indexOf('\u00ff') < 0 ? 'no hidden keys' : 'hidden keys visible';
