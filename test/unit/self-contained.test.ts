/**
 * The repository explains itself: no code, test or doc cites design notes that live outside it
 * (the team's shared design and reference files). What the code relies on is in docs/ (start at
 * docs/architecture.md) or cited from the provider's public page.
 */
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const SCAN = ['nodes', 'simulators', 'scripts', 'test', 'bench', 'docs', 'examples', 'flows', 'README.md', 'settings.ts', 'Dockerfile'];
const OUTSIDE = [
  ['DESIGN', '.md'],
  ['api-', 'contracts'],
  ['reliability', '-notes'],
  ['shared/', 'reference'],
].map((p) => p.join(''));

function files(entry: string): string[] {
  const full = path.join(ROOT, entry);
  if (!fs.existsSync(full)) return [];
  if (fs.statSync(full).isFile()) return [full];
  return fs
    .readdirSync(full, { withFileTypes: true })
    .flatMap((d) => (d.name === 'node_modules' || d.name === 'results' ? [] : files(path.join(entry, d.name))));
}

it('no file cites design notes that are not in the repository', () => {
  const cites: string[] = [];
  for (const file of SCAN.flatMap(files)) {
    if (!/\.(ts|js|json|md|html|sh)$|Dockerfile$/.test(file)) continue;
    const text = fs.readFileSync(file, 'utf8');
    text.split('\n').forEach((line, i) => {
      for (const name of OUTSIDE) if (line.includes(name)) cites.push(`${path.relative(ROOT, file)}:${i + 1} cites ${name}`);
    });
  }
  expect(cites).toEqual([]);
});
