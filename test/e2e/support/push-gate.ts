import type { Page, WebSocketRoute } from "playwright-core";
import { eventually } from "../../support/http";

/**
 * Sits on the dashboard's socket.io WebSocket (the real gateway stays on the other end) and,
 * while holding, keeps `order.updated` frames back. Payment takes milliseconds, so without
 * this the NEW (or REFUNDING) badge could not be photographed reliably; with it the test also
 * shows that the badge changes exactly when the push arrives: the order has moved on in the
 * API while the page, receiving no push, still shows the earlier status.
 */
export class PushGate {
	private readonly sockets: { page: WebSocketRoute; upgraded: boolean }[] = [];
	private held: { page: WebSocketRoute; frame: string | Buffer }[] = [];
	private holding = false;

	async install(page: Page): Promise<void> {
		await page.routeWebSocket(
			url => url.pathname.startsWith("/socket.io/"),
			ws => {
				const socket = { page: ws, upgraded: false };
				this.sockets.push(socket);
				const server = ws.connectToServer();
				ws.onMessage(frame => {
					// Engine.IO's "upgrade" packet: from now on this WebSocket carries every event.
					if (frame === "5") socket.upgraded = true;
					server.send(frame);
				});
				server.onMessage(frame => {
					if (this.holding && String(frame).startsWith('42["order.updated"'))
						this.held.push({ page: ws, frame });
					else ws.send(frame);
				});
			},
		);
	}

	get count(): number {
		return this.sockets.length;
	}

	/**
	 * Waits for a socket opened after `previousCount` sockets to be upgraded to WebSocket, so
	 * pushes travel through this gate rather than over HTTP long-polling.
	 */
	waitForNewSocket(previousCount: number): Promise<unknown> {
		return eventually(
			async () => this.sockets.length > previousCount && this.sockets.at(-1)!.upgraded,
			"the dashboard's socket.io connection to upgrade to WebSocket",
			10_000,
		);
	}

	hold(): void {
		this.holding = true;
	}

	/** Whether a push saying `status` for the order is held back. */
	heldFor(orderId: string, status?: string): boolean {
		return this.held.some(
			h =>
				String(h.frame).includes(`"orderId":"${orderId}"`) &&
				(!status || String(h.frame).includes(`"status":"${status}"`)),
		);
	}

	release(): void {
		this.holding = false;
		for (const { page, frame } of this.held.splice(0)) page.send(frame);
	}
}
