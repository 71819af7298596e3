// expect: SCRIPT_MEMORY_LIMIT
// limits: {"timeoutMs": 5000, "memoryBytes": 8388608}
// bound: engine
var keep = [];
for (;;) { try { keep.push(new Array(100000).join('z') + keep.length); } catch (e) { keep.push(keep.slice()); } }
