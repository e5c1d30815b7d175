#!/usr/bin/env node
'use strict';
/*
 * Flow Library scorecard for this package: runs `node-red-dev validate` (the tool the Flow Library
 * runs, flow-library/lib/scorecard.js) offline-safe, prints its report, and exits non-zero on any
 * error-level failure.
 *
 *   node scripts/scorecard.js [packageDir]        (default: the repository root)
 *
 * The Flow Library catalogue (https://catalogue.nodered.org/catalogue.json) cannot be reached from
 * here, and node-red-dev aborts without it. scripts/scorecard-preload.js answers that one URL
 * with an empty catalogue. Every other request goes out as normal: the npm registry lookups for
 * P06/P07 (registry.npmjs.org/node-red), D02 (npm-remote-ls walks the dependency tree) and D03
 * (npm-check asks for the latest versions). Those need the npm registry, which is reachable here.
 *
 * How results are read. node-red-dev prints "✅ ..." for passes and oclif "Warning: ..." lines for
 * failures, and it never prints a severity. So we read the JSON scorecard that it writes with `-o`
 * (the same file the Flow Library stores). Each rule there is `{ test: boolean, ... }`. We grade
 * it like this:
 *   error (the exit code is non-zero):
 *     - P01, P04, P05, D02: the rules the Flow Library shows as failures (:x:). Everything else
 *       it shows as a warning (flow-library routes/nodes.js prepareScorecard, lib/scorecard.js).
 *     - P03, P06, P07: stricter for this project. A missing repository/bugs URL, or a
 *       node-red.version / engines.node range that no current Node-RED satisfies, is a
 *       packaging bug here.
 *     - N02: every non-config node must appear in at least one example, so a user finds each
 *       one in a template (docs/developing.md).
 *     - The validator crashed, timed out, exited non-zero, or wrote no scorecard. An expected rule
 *       is missing from the scorecard. A node's .html could not be parsed ("Unable to parse",
 *       which node-red-dev otherwise ignores, so those nodes silently escape N01/N02). An
 *       example file could not be read. A file listed in package.json "node-red.nodes" (or its
 *       .html) does not exist, for example because the build has not run.
 *   warning (reported, not fatal):
 *     - P08, N01: vacuous here (the catalogue is empty).
 *     - D01: "6 or fewer dependencies", a popularity heuristic.
 *     - D03: "every dependency at its newest major". This depends on upstream releases, and
 *       better-sqlite3 13 needs Node 22.
 * SCORECARD_ERROR_RULES="P01,P04,..." overrides the list of error-level rules.
 * SCORECARD_TIMEOUT_MS (default 300000) bounds the validator run.
 */

const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const PRELOAD = path.join(__dirname, 'scorecard-preload.js');
const ALL_RULES = ['P01', 'P03', 'P04', 'P05', 'P06', 'P07', 'P08', 'N01', 'N02', 'D01', 'D02', 'D03'];
const NODE_RULES = ['N01', 'N02'];
const ERROR_RULES = (process.env.SCORECARD_ERROR_RULES || 'P01,P03,P04,P05,P06,P07,N02,D02')
  .split(',')
  .map((s) => s.trim().toUpperCase())
  .filter(Boolean);
const TIMEOUT_MS = Number(process.env.SCORECARD_TIMEOUT_MS) || 300000;

const RULE_TITLES = {
  P01: 'license declared',
  P03: 'repository or bugs URL',
  P04: 'package name follows the naming rules',
  P05: 'node-red keyword',
  P06: 'node-red.version matches a current Node-RED',
  P07: 'engines.node matches the newest Node-RED',
  P08: 'no similarly named package in the catalogue',
  N01: 'node types unique in the catalogue',
  N02: 'every non-config node used in an example',
  D01: '6 or fewer dependencies',
  D02: 'no known-incompatible packages in the dependency tree',
  D03: 'dependencies at their latest versions',
};

function log(line = '') {
  process.stdout.write(`${line}\n`);
}

function resolveValidator() {
  const pkgJson = require.resolve('node-red-dev/package.json', { paths: [ROOT] });
  const pkg = JSON.parse(fs.readFileSync(pkgJson, 'utf8'));
  const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin['node-red-dev'];
  return { bin: path.join(path.dirname(pkgJson), bin), version: pkg.version };
}

/** Our own checks, before the validator: it only console.logs a missing file and carries on. */
function precheck(pkgDir, problems) {
  let pkg;
  try {
    pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
  } catch (err) {
    problems.push(`package.json cannot be read: ${err.message}`);
    return undefined;
  }
  const nr = pkg['node-red'];
  if (!nr || typeof nr !== 'object') {
    problems.push('package.json has no "node-red" section');
    return pkg;
  }
  for (const [type, file] of Object.entries(nr.nodes || {})) {
    const js = path.join(pkgDir, file);
    const html = js.replace(/\.js$/, '.html');
    if (!fs.existsSync(js)) problems.push(`node set "${type}": ${file} does not exist (has \`npm run build\` run?)`);
    if (!fs.existsSync(html)) problems.push(`node set "${type}": ${path.relative(pkgDir, html)} does not exist`);
  }
  return pkg;
}

function runValidator(bin, pkgDir, outFile) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-r', PRELOAD, bin, 'validate', '-p', pkgDir, '-o', outFile], {
      cwd: pkgDir,
      // No stdin: node-red-dev opens a readline interface on it. COLUMNS: stop oclif wrapping warnings.
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, COLUMNS: '400', FORCE_COLOR: '0' },
    });
    let output = '';
    const onData = (stream) => (chunk) => {
      output += chunk.toString();
      stream.write(chunk);
    };
    child.stdout.on('data', onData(process.stdout));
    child.stderr.on('data', onData(process.stderr));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, timedOut, output: `${output}\n${err.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, timedOut, output });
    });
  });
}

async function main() {
  const pkgDir = path.resolve(process.argv[2] || ROOT);
  const { bin, version } = resolveValidator();

  log('NOTE: P08 (similar package names) and N01 (node types unique in the Flow Library) compare against the');
  log('      Flow Library catalogue, which scripts/scorecard-preload.js replaces with an empty one (catalogue.nodered.org');
  log('      is unreachable here), so those two checks are vacuous and always pass.');
  log(`scorecard: node-red-dev ${version} validate -p ${pkgDir}`);
  log(`scorecard: error-level rules: ${ERROR_RULES.join(', ')}; other rules are warnings`);
  log('');

  const errors = [];
  const warnings = [];
  const pkg = precheck(pkgDir, errors);

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tillwire-scorecard-'));
  const outFile = path.join(tmp, 'scorecard.json');
  const started = Date.now();
  const run = await runValidator(bin, pkgDir, outFile);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);

  // oclif wraps long warnings onto continuation lines starting with " ›   "; join them back.
  const text = run.output.replace(/\r/g, '').replace(/ *\n › {3}(?!Warning:|Error:)/g, ' ');

  if (run.timedOut) errors.push(`validator did not finish within ${TIMEOUT_MS} ms (killed)`);
  else if (run.code !== 0) errors.push(`validator exited with ${run.code === null ? `signal ${run.signal}` : `code ${run.code}`} (aborted)`);
  if (!/^Complete$/m.test(text)) errors.push('validator did not reach "Complete"');
  for (const m of text.matchAll(/^Unable to parse\s+(.+)$/gm))
    errors.push(`node-red-dev could not parse the .html of ${m[1].trim()} (those nodes were skipped by N01/N02)`);
  for (const m of text.matchAll(/Warning: (Unable to read example\s*:.*)$/gm)) errors.push(m[1].trim());

  let card;
  try {
    card = JSON.parse(fs.readFileSync(outFile, 'utf8'));
  } catch (err) {
    errors.push(`no scorecard was written (${err.code === 'ENOENT' ? 'validator aborted before the end' : err.message})`);
  }
  fs.rmSync(tmp, { recursive: true, force: true });

  log('');
  log(`---- scorecard summary (${seconds} s) ----`);
  if (card) {
    const nodesDeclared = Boolean(pkg && pkg['node-red'] && pkg['node-red'].nodes);
    for (const rule of ALL_RULES) {
      const result = card[rule];
      const level = ERROR_RULES.includes(rule) ? 'error' : 'warning';
      if (!result) {
        if (NODE_RULES.includes(rule) && !nodesDeclared) {
          log(`  -  ${rule} ${RULE_TITLES[rule]}: not run (no node-red.nodes declared)`);
          if (level === 'error') errors.push(`${rule} not run: package.json declares no node-red.nodes`);
        } else {
          log(`  ?  ${rule} ${RULE_TITLES[rule]}: missing from the scorecard`);
          errors.push(`${rule} missing from the scorecard`);
        }
        continue;
      }
      let detail = Object.entries(result)
        .filter(([k]) => k !== 'test')
        // N02's `nodes` lists the nodes that ARE used in examples; the missing ones are only printed
        .map(([k, v]) => `${rule === 'N02' && k === 'nodes' ? 'in examples' : k}=${JSON.stringify(v)}`)
        .join(' ');
      if (rule === 'N02' && !result.test) {
        const missing = /Examples not found for the following nodes: (.*)$/m.exec(text);
        const none = /Warning: No examples found/.test(text);
        detail = [missing ? `missing from examples=${missing[1].trim()}` : none ? 'no examples/*.json' : '', detail].filter(Boolean).join('; ');
      }
      const vacuous = rule === 'P08' || rule === 'N01' ? ' [vacuous: empty catalogue]' : '';
      if (result.test) {
        log(`  ✅ ${rule} ${RULE_TITLES[rule]}${detail ? ` (${detail})` : ''}${vacuous}`);
      } else if (level === 'error') {
        log(`  ❌ ${rule} ${RULE_TITLES[rule]}${detail ? ` (${detail})` : ''}`);
        errors.push(`${rule} failed: ${RULE_TITLES[rule]}${detail ? ` (${detail})` : ''}`);
      } else {
        log(`  ⚠️  ${rule} ${RULE_TITLES[rule]}${detail ? ` (${detail})` : ''}`);
        warnings.push(`${rule}: ${RULE_TITLES[rule]}${detail ? ` (${detail})` : ''}`);
      }
    }
    // node-red-dev 0.1.6 records P05 as passed even when the keyword is missing; its warning tells.
    if (/Warning: P05 /.test(text)) {
      const msg = 'P05 node-red keyword missing (node-red-dev records it as passed, but prints a P05 warning)';
      if (ERROR_RULES.includes('P05')) errors.push(msg);
      else warnings.push(msg);
    }
  }

  for (const w of warnings) log(`WARNING: ${w}`);
  for (const e of errors) log(`ERROR: ${e}`);
  if (errors.length > 0) {
    log(`scorecard: FAILED with ${errors.length} error(s), ${warnings.length} warning(s)`);
    process.exitCode = 1;
  } else {
    log(`scorecard: passed, ${warnings.length} warning(s)`);
  }
}

main().catch((err) => {
  process.stderr.write(`scorecard: ${err && err.stack ? err.stack : err}\n`);
  process.exitCode = 1;
});
