/**
 * The demo simulators' continuity files: <userDir>/.tillwire-demo/<simulator>.json, read when
 * `npm start` starts the simulators and written (whole, atomically) whenever a simulator's state
 * changes, so a restarted demo carries on where the last one stopped instead of handing out the
 * same order, payout and settlement ids again (docs/settlements.md, "The demo").
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Continuity } from '../simulators/kit/continuity';

export const DEMO_STATE_DIR = '.tillwire-demo';

export function fileContinuity<T>(userDir: string, simulator: string): Continuity<T> {
  const dir = path.join(userDir, DEMO_STATE_DIR);
  const file = path.join(dir, `${simulator}.json`);
  let last: string | undefined;
  let from: T | undefined;
  try {
    last = fs.readFileSync(file, 'utf8');
    from = JSON.parse(last) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new Error(`${file}: ${(err as Error).message} (delete it to start this simulator afresh)`, { cause: err });
  }
  return {
    from,
    save(state: T) {
      const text = JSON.stringify(state, null, 2) + '\n';
      if (text === last) return;
      fs.mkdirSync(dir, { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, text);
      fs.renameSync(tmp, file);
      last = text;
    },
  };
}
