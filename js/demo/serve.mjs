// A small static server for the demo page: the package directory (js/) on
// 127.0.0.1, the page at /demo/. Prints the page's URL on its first line,
// so a test can start it on port 0 and read where it listens.
//
//   node demo/serve.mjs [PORT]     (npm run demo)
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
};

const server = createServer((req, res) => {
  const fail = (code, text) => {
    res.writeHead(code, { 'content-type': 'text/plain' });
    res.end(text);
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') return fail(405, 'method not allowed');
  let path;
  try {
    path = decodeURIComponent(new URL(req.url, 'http://localhost').pathname);
  } catch {
    return fail(400, 'bad path');
  }
  if (path.endsWith('/')) path += 'index.html';
  const file = normalize(join(root, path));
  if (file !== root && !file.startsWith(root + sep)) return fail(403, 'outside the package');
  let size;
  try {
    const st = statSync(file);
    if (!st.isFile()) return fail(404, 'not found');
    size = st.size;
  } catch {
    return fail(404, 'not found');
  }
  res.writeHead(200, {
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    'content-length': size,
    'cache-control': 'no-store',
  });
  if (req.method === 'HEAD') return res.end();
  createReadStream(file).pipe(res);
});

server.listen(Number(process.argv[2] ?? 8000), '127.0.0.1', () => {
  console.log(`http://127.0.0.1:${server.address().port}/demo/`);
});
