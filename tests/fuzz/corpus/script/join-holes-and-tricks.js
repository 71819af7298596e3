// Array.prototype.join: arrays of holes (answered by sandbox/array_join.cc) beside the cases it
// must leave to Duktape: elements, getters, a changed prototype, a Proxy, odd separators.
var out = [];
out.push(new Array(5).join('ab'), new Array(3).join(), [].join('x'), new Array(1).join('-'));
var a = new Array(4); a.length = 7; out.push(a.join('\u00e9'));
var b = new Array(6); b[4] = 'e'; out.push(b.join('.'));
var c = new Array(3);
Object.defineProperty(c, 1, {get: function () { return 'g'; }});
out.push(c.join('|'));
var d = new Array(3);
Object.setPrototypeOf(d, Object.create(Array.prototype, {0: {value: 'p'}}));
out.push(d.join('+'));
var p = new Proxy(new Array(3), {get: function (t, k) { return k === 'length' ? 3 : k; }});
Object.setPrototypeOf(p, Array.prototype);
out.push(Array.prototype.join.call(p, ':'));
out.push(new Array(4).join(7), new Array(4).join({toString: function () { return '~'; }}));
out.push(String(new Array(3)), Array.prototype.join.call({length: 2}, '/'));
try { out.push(new Array(4294967295).join('xy')); } catch (e) { out.push(e.name); }
try { out.push(new Array(1 << 22).join('x').length); } catch (e) { out.push(e.name); }
return out;
