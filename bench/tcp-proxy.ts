/** A TCP proxy on a free local port: what passes between each client and its upstream connection is the subclass's. */
import { connect, createServer, type Server, type Socket } from 'node:net';

export abstract class TcpProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();

  /** Wires one client to its upstream connection (both already tracked and closed together). */
  protected abstract pipe(client: Socket, upstream: Socket): void;

  async start(targetPort: number, targetHost = '127.0.0.1'): Promise<number> {
    this.server = createServer((client) => {
      const upstream = connect(targetPort, targetHost);
      this.sockets.add(client).add(upstream);
      this.pipe(client, upstream);
      const end = (): void => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('close', end).on('error', end);
      upstream.on('close', end).on('error', end);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
