// expect: SCRIPT_MEMORY_LIMIT
// limits: {"timeoutMs": 5000, "memoryBytes": 8388608}
// bound: engine
return 'abcdefgh'.repeat(1 << 24).length;
