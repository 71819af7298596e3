var reasons = [];
if (input.user && input.user.age < 18) reasons.push('minor');
var s = JSON.stringify(input);
var o = JSON.parse(s, function (k, v) { return typeof v === 'number' ? v + 1 : v; });
try { null.x; } catch (e) { reasons.push(String(e.message).slice(0, 10)); }
console.log('checked', reasons.length, /a(b|c)*d/.exec('abcbd'));
return {decision: reasons.length ? 'review' : 'approve', reasons: reasons, o: o,
        d: new Date(0).toISOString(), n: [1.5, -0, 1e21, 0.1 + 0.2].map(String),
        u: 'caf\u00e9 \u4e2d'.split('').reverse().join('')};
