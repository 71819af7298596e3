// expect: OK
// limits: {"timeoutMs": 2000, "maxLogBytes": 4096}
// bound: engine
// result: "flooded"
var line = new Array(1000).join('log');
for (var i = 0; i < 100000; i++) console.log(line);
return 'flooded';
