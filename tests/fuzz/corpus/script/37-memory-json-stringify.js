// expect: SCRIPT_MEMORY_LIMIT
// limits: {"timeoutMs": 5000, "memoryBytes": 8388608}
// bound: engine
var a = [];
for (var i = 0; i < 2e5; i++) a.push({ i: i, s: 'value' });
return JSON.stringify(a).length;
