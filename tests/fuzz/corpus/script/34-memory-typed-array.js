// expect: SCRIPT_MEMORY_LIMIT
// limits: {"timeoutMs": 5000, "memoryBytes": 8388608}
// bound: engine
return new Uint8Array(1 << 30).length;
