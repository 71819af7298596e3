// expect: SCRIPT_MEMORY_LIMIT
// limits: {"timeoutMs": 5000, "memoryBytes": 8388608}
// bound: engine
var root = [];
for (var n = root; ; n = n[0]) n.push([], [1, 2, 3, 4]);
