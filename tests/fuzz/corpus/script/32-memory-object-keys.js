// expect: SCRIPT_MEMORY_LIMIT
// limits: {"timeoutMs": 5000, "memoryBytes": 8388608}
// bound: engine
var o = {};
for (var i = 0; ; i++) o['key' + i] = i;
