// expect: OK
// limits: {"timeoutMs": 300}
// bound: engine
// result: "clean"
try { null.x; } catch (e) { return /\.c:|\/usr\/|\/work\//.test(String(e.stack)) ? 'leaks paths' : 'clean'; }
