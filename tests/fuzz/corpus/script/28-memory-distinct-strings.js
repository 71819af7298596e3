// expect: SCRIPT_MEMORY_LIMIT
// limits: {"timeoutMs": 5000, "memoryBytes": 8388608}
// bound: engine
var a = [];
for (;;) a.push(new Array(200).join('x') + a.length);
