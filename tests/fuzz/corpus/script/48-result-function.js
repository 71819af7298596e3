// expect: SCRIPT_RESULT_INVALID
// limits: {"timeoutMs": 300}
// bound: engine
return { decision: 'approve', reasons: [], callback: function () {} };
