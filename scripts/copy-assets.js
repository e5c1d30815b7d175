#!/usr/bin/env node
// Copies what tsc does not emit next to the compiled node files: each node's .html, icons/,
// locales/ and the canonical JSON Schemas. Node-RED finds the .html by swapping .js for .html in
// the same folder, and icons/ and locales/ beside the .js (nodered-conventions §1.3).
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const src = path.join(root, 'nodes');
const out = path.join(root, 'dist', 'nodes');
const wanted = (rel) => rel.endsWith('.html') || rel.endsWith('.json') || rel.endsWith('.svg') || rel.endsWith('.png');

let copied = 0;
function walk(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full);
    else if (wanted(entry.name)) {
      const target = path.join(out, path.relative(src, full));
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.copyFileSync(full, target);
      copied++;
    }
  }
}
walk(src);
console.log(`copied ${copied} asset files into dist/nodes`);
