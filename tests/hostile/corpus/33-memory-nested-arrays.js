// expect: SCRIPT_MEMORY_LIMIT
// limits: {"timeoutMs": 15000, "memoryBytes": 4194304}
// Duktape marks a deep chain in passes that grow with its length, so the time to fill the cap is
// quadratic in it: 8 MiB took 7-9.5 s of CPU in a fastbuild, 4 MiB takes 1.5 s.
// bound: engine
var root = [];
for (var n = root; ; n = n[0]) n.push([], [1, 2, 3, 4]);
