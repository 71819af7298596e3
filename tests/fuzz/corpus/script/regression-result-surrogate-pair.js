// A result string holding U+1F600 written as a surrogate pair: Duktape keeps it as CESU-8, which is
// not UTF-8, so the protobuf result cannot be parsed back (worker IPC, gRPC reply).
return '\ud83d\ude00';
