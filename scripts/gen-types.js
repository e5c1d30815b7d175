#!/usr/bin/env node
// Generates nodes/model/types.generated.ts from the canonical JSON Schemas, so the TypeScript types
// cannot drift from them. `--check` fails (exit 1) when the committed file is out of date; the
// model unit test runs the same comparison.
const fs = require('node:fs');
const path = require('node:path');
const { generate } = require('./schema-types');

const target = path.resolve(__dirname, '..', 'nodes', 'model', 'types.generated.ts');
generate().then((text) => {
  if (process.argv.includes('--check')) {
    const current = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : '';
    if (current !== text) {
      console.error('nodes/model/types.generated.ts is out of date: run `npm run gen:types`');
      process.exit(1);
    }
    console.log('canonical types match the schemas');
  } else {
    fs.writeFileSync(target, text);
    console.log(`wrote ${path.relative(process.cwd(), target)}`);
  }
});
