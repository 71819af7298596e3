// A result nested 34 objects deep: within the bridge's 64 levels, beyond what protobuf parses back.
var o = 1;
for (var i = 0; i < 34; i++) o = {k: o};
return o;
