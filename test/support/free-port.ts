/**
 * A port for a test's own server (Node-RED, a demo service, a broker, a database) that nothing else
 * takes before it binds. The operating system's port 0 hands out a port from the ephemeral range
 * (here 32768–60999): freed again before the server binds, it can be taken meanwhile by any outgoing
 * connection of the many test processes running at once (seen: a demo broker failing with
 * EADDRINUSE). Ports below that range are never given to outgoing connections, so a port picked at
 * random there and free now is taken only by another test binding the same one in that moment.
 */
import fs from 'node:fs';
import net from 'node:net';

/** The first port of the ephemeral range (Linux: /proc/sys/net/ipv4/ip_local_port_range). */
function ephemeralStart(): number {
  try {
    const [low] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && low > 12_000) return low;
  } catch {
    /* not Linux: the usual default below */
  }
  return 32_768;
}

const HIGHEST = ephemeralStart() - 1;
const LOWEST = 10_000;

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const port = LOWEST + Math.floor(Math.random() * (HIGHEST - LOWEST + 1));
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port between ${LOWEST} and ${HIGHEST} after 200 tries`);
}
