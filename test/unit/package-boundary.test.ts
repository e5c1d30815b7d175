/**
 * What a production flow loads stays apart from the simulators: nothing under nodes/ (or the
 * shipped settings.ts) imports simulators/ or anything else outside nodes/, and the package npm
 * would publish holds no simulator and no module whose relative require leads out of the package.
 * Inside nodes/, the layers of docs/architecture.md hold: model and runtime need no Node-RED glue,
 * core needs no system folder, and no system folder needs another.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { projectRoot } from '../support/root';

const root = projectRoot();

function walk(dir: string, ext: string): string[] {
  return fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) return walk(rel, ext);
    return e.name.endsWith(ext) ? [rel] : [];
  });
}

/** The project files `file` imports, requires or re-exports by a relative specifier, as paths from the root. */
function relativeImports(file: string, source = fs.readFileSync(path.join(root, file), 'utf8')): string[] {
  const info = ts.preProcessFile(source, true, true);
  return info.importedFiles
    .map((f) => f.fileName)
    .filter((name) => name.startsWith('.'))
    .map((name) => {
      const base = path.resolve(root, path.dirname(file), name);
      const hit = [base, `${base}.ts`, `${base}.js`, path.join(base, 'index.ts'), path.join(base, 'index.js')].find(
        (p) => fs.existsSync(p) && fs.statSync(p).isFile(),
      );
      return path.relative(root, hit ?? base);
    });
}

const inside = (file: string, dir: string) => !path.relative(dir, file).startsWith('..');

describe('package boundary', () => {
  it('the import walk sees imports (the Amazon simulator imports the Amazon contract)', () => {
    expect(relativeImports('simulators/amazon/simulator.ts')).toContain(path.join('nodes', 'amazon', 'contract.ts'));
    expect(relativeImports('x/y.ts', "export { a } from '../simulators/kit/random';\nconst b = require('./z');")).toEqual([
      path.join('simulators', 'kit', 'random.ts'),
      path.join('x', 'z'),
    ]);
  });

  it('no production module imports a simulator or anything outside nodes/', () => {
    const production = [...walk('nodes', '.ts'), 'settings.ts'];
    expect(production.length).toBeGreaterThan(50);
    const offending = production.flatMap((file) =>
      relativeImports(file)
        .filter((target) => !inside(target, 'nodes'))
        .map((target) => `${file} imports ${target}`),
    );
    expect(offending).toEqual([]);
  });

  it('layers: model and runtime import no Node-RED glue and no system; core imports no system; no system imports another', () => {
    const SYSTEMS = ['amazon', 'bol', 'business-central', 'odoo', 'shopify', 'square', 'pos-mqtt', 'ledger'];
    const folderOf = (file: string) => path.relative('nodes', file).split(path.sep)[0];
    const offending = walk('nodes', '.ts').flatMap((file) => {
      const from = folderOf(file);
      return relativeImports(file)
        .filter((target) => inside(target, 'nodes'))
        .map((target) => folderOf(target))
        .filter((to) => {
          if (to === from) return false;
          if (from === 'model') return to !== 'model';
          if (from === 'runtime') return to !== 'model';
          if (from === 'core') return SYSTEMS.includes(to);
          return SYSTEMS.includes(to);
        })
        .map((to) => `nodes/${from} (${file}) imports nodes/${to}`);
    });
    expect(offending).toEqual([]);
  });

  it('npm pack ships no simulator, and every shipped module requires only shipped files', () => {
    expect(fs.existsSync(path.join(root, 'dist', 'nodes', 'amazon', 'contract.js'))).toBe(true); // run `npm run build` first
    const [pack] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' }));
    const files = new Set<string>(pack.files.map((f: { path: string }) => f.path));
    expect([...files].filter((f) => /simulat|^dist\/(scripts|simulators|bench|test)\//i.test(f))).toEqual([]);
    const dangling = [...files]
      .filter((f) => f.endsWith('.js'))
      .flatMap((f) =>
        relativeImports(f)
          .filter((target) => !files.has(target.split(path.sep).join('/')))
          .map((target) => `${f} requires ${target}`),
      );
    expect(dangling).toEqual([]);
    expect(files.has('dist/nodes/amazon/contract.js')).toBe(true);
  });
});
