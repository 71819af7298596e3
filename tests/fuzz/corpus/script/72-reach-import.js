// expect: SCRIPT_SYNTAX_ERROR
// limits: {"timeoutMs": 300}
// bound: engine
import fs from 'fs';
