// Requires 20 built-in modules: the start-up of a typical script.
const names = [
  'assert', 'buffer', 'child_process', 'crypto', 'dns', 'events', 'fs', 'http',
  'https', 'net', 'os', 'path', 'querystring', 'readline', 'stream', 'string_decoder',
  'timers', 'url', 'util', 'zlib',
];
for (const n of names) require(n);
