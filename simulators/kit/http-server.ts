/** Starting and stopping a simulator's HTTP server on loopback (shared by the simulators). */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Listens on `port` (0: any free one) and resolves with the server and its base URL. */
export async function listen(handler: http.RequestListener, port = 0, host = '127.0.0.1'): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(port, host, () => resolve()));
  const address = server.address() as AddressInfo;
  return { server, url: `http://${host}:${address.port}` };
}

/** Closes the server, dropping kept-alive connections so the close does not wait for them. */
export function closeServer(server: http.Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
