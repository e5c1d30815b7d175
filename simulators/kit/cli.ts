/**
 * The simulators' one command line, on node:util parseArgs: each simulator declares its flags
 * (name, kind, help) and gets parsing, `--help` text and error messages the same way as the
 * others. Flags every simulator shares have one name everywhere (COMMON_FLAGS, FAULT_FLAGS).
 */
import { parseArgs } from 'node:util';

export interface Flag {
  /** text (default), number, list (comma separated) or switch (no value). */
  kind?: 'text' | 'number' | 'list' | 'switch';
  /** Placeholder for the value in --help, e.g. "<n>". */
  value?: string;
  help: string;
}

export type Flags = Readonly<Record<string, Flag>>;

type ValueOf<F extends Flag> = F['kind'] extends 'number' ? number : F['kind'] extends 'list' ? string[] : F['kind'] extends 'switch' ? boolean : string;

/** The values given, by flag name; flags not given are absent. */
export type FlagValues<F extends Flags> = { -readonly [K in keyof F]?: ValueOf<F[K]> };

/** Flags every simulator accepts. */
export const COMMON_FLAGS = {
  port: { kind: 'number', value: '<n>', help: 'port to listen on (0 picks a free one)' },
  host: { value: '<addr>', help: 'address to listen on (default 127.0.0.1)' },
  seed: { kind: 'number', value: '<n>', help: 'seed of the generated data and faults' },
} as const satisfies Flags;

/** The fault flags of the simulators that inject faults (simulators/kit/faults.ts). */
export const FAULT_FLAGS = {
  'error-rate': { kind: 'number', value: '<0..1>', help: 'fraction of requests answered with an error, nothing done' },
  'timeout-rate': { kind: 'number', value: '<0..1>', help: 'fraction of requests never answered, nothing done' },
  'lost-response-rate': { kind: 'number', value: '<0..1>', help: 'fraction of requests done whose answer is lost' },
} as const satisfies Flags;

/**
 * Parses `argv` (strict: an unknown flag, a missing value, a number that is not one or a stray
 * argument is an Error naming it). Returns 'help' for --help or -h.
 */
export function parseFlags<F extends Flags>(argv: string[], flags: F): FlagValues<F> | 'help' {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, flag] of Object.entries(flags)) options[name] = { type: flag.kind === 'switch' ? 'boolean' : 'string' };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new Error(parseError(err as Error & { code?: string }), { cause: err });
  }
  if (values.help) return 'help';
  const out: Record<string, unknown> = {};
  for (const [name, flag] of Object.entries(flags)) {
    const raw = values[name];
    if (raw === undefined) continue;
    if (flag.kind === 'switch') out[name] = raw;
    else if (flag.kind === 'number') {
      const n = Number(raw);
      if (raw === '' || !Number.isFinite(n)) throw new Error(`--${name} needs a number, not ${JSON.stringify(raw)}`);
      out[name] = n;
    } else if (flag.kind === 'list') {
      out[name] = String(raw)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    } else out[name] = raw;
  }
  return out as FlagValues<F>;
}

function parseError(err: Error & { code?: string }): string {
  const quoted = /'([^']+)'/.exec(err.message)?.[1] ?? '';
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${quoted} (see --help)`;
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') return `${quoted.split(' ')[0]} needs a value (see --help)`;
  if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `unexpected argument ${quoted} (see --help)`;
  return err.message;
}

/** The --help text: a title, the command, and one line per flag. */
export function helpText(title: string, command: string, flags: Flags): string {
  const rows = Object.entries(flags).map(([name, f]) => [`--${name}${f.value ? ` ${f.value}` : ''}`, f.help]);
  rows.push(['--help', 'this text']);
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return `${title}\n\n  ${command} [options]\n\n${rows.map(([left, help]) => `  ${left.padEnd(width)}${help}`).join('\n')}\n`;
}

export interface RunningSimulator {
  /** What to print once it is up (URL, credentials, inspection routes). */
  lines: string[];
  stop(): Promise<void>;
}

/**
 * A simulator's `main`: parses the command line with `parse` (its flags through parseFlags), prints
 * `help` or the error (exit code 2), starts the simulator, prints its lines, and stops it on
 * SIGINT/SIGTERM.
 */
export async function runSimulatorCli<O>(
  argv: string[],
  spec: { help: string; parse(argv: string[]): O | 'help'; start(options: O): Promise<RunningSimulator> },
): Promise<void> {
  let options: O | 'help';
  try {
    options = spec.parse(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  if (options === 'help') {
    process.stdout.write(spec.help);
    return;
  }
  const running = await spec.start(options);
  for (const line of running.lines) console.log(line);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    running.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/** Runs `main` as a program: a failure to start is printed and exits 1. */
export function runMain(main: () => Promise<unknown>): void {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
