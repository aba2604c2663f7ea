import { createServer, Server, Socket, connect } from "net";

/** A TCP proxy the tests can cut and restore, to make a broker unreachable for one client. */
export class TcpProxy {
	private server: Server | null = null;
	private readonly sockets = new Set<Socket>();
	port = 0;

	constructor(
		private readonly targetPort: number,
		private readonly targetHost = "127.0.0.1",
	) {}

	async start(port = 0): Promise<this> {
		this.server = createServer(client => {
			const upstream = connect(this.targetPort, this.targetHost);
			for (const s of [client, upstream]) {
				this.sockets.add(s);
				s.on("close", () => this.sockets.delete(s));
				s.on("error", () => s.destroy());
			}
			client.pipe(upstream).pipe(client);
			client.on("close", () => upstream.destroy());
			upstream.on("close", () => client.destroy());
		});
		await new Promise<void>(resolve => this.server!.listen(port, "127.0.0.1", resolve));
		this.port = (this.server.address() as { port: number }).port;
		return this;
	}

	/** Drops every connection and refuses new ones until `restore`. */
	async cut(): Promise<void> {
		const server = this.server;
		this.server = null;
		for (const s of this.sockets) s.destroy();
		if (server) await new Promise(resolve => server.close(resolve));
	}

	async restore(): Promise<void> {
		await this.start(this.port);
	}

	stop(): Promise<void> {
		return this.cut();
	}
}
