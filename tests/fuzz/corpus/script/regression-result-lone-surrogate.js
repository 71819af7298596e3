// A result string holding a lone surrogate (legal in JS, not in UTF-8).
return {s: String.fromCharCode(0xdc00)};
