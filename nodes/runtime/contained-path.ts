/**
 * A file a message names, kept inside one folder. A flow can pass text from anywhere into
 * `msg.filename` (an HTTP endpoint, an MQTT topic), so a node that opens the file it names must not
 * let `../` or an absolute path reach the rest of the host. The check is made on the real path, so
 * a symbolic link inside the folder that points out of it is refused too.
 */
import fs from 'node:fs';
import path from 'node:path';

export class OutsideFolderError extends Error {
  override name = 'OutsideFolderError';
}

function inside(base: string, file: string): boolean {
  const rel = path.relative(base, file);
  return rel !== '' && !rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel);
}

/** The real path of `name` resolved against `folder`; throws OutsideFolderError when it is not inside `folder`. */
export async function containedFile(folder: string, name: string): Promise<string> {
  const base = await fs.promises.realpath(path.resolve(folder));
  const wanted = path.resolve(base, name);
  const refuse = () => new OutsideFolderError(`'${name}' is outside ${base}: only files inside that folder can be read`);
  if (!inside(base, wanted)) throw refuse();
  const real = await fs.promises.realpath(wanted);
  if (!inside(base, real)) throw refuse();
  return real;
}
