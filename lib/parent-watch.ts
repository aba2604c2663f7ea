/**
 * A node started by the supervisor (scripts/start.ts) has an IPC channel to it. When the
 * supervisor dies — even by SIGKILL, which it cannot catch — the kernel closes that channel
 * and the node gets `disconnect`: it then stops as on SIGTERM (consumers cancelled, batches
 * under way committed and acknowledged, connections closed), so no node outlives its
 * supervisor. A node started any other way (a container, by hand) has no channel and is not
 * affected.
 */
export function watchParent(onGone: () => void): boolean {
	if (!process.channel) return false;
	// The channel must not keep the node alive by itself, nor carry anything.
	process.channel.unref();
	process.once("disconnect", onGone);
	return true;
}

/**
 * What a node does when its supervisor is gone: stop gracefully through the SIGTERM handler
 * (Moleculer's, once the broker runs; before that the default, which just ends the process),
 * and exit anyway if stopping takes longer than `deadlineMs`.
 */
export function stopWhenParentGone(deadlineMs: number): boolean {
	return watchParent(() => {
		// The supervisor read our stdout and stderr: writing to them now fails with EPIPE, which
		// must not turn the graceful stop into a crash.
		process.stdout.on("error", () => undefined);
		process.stderr.on("error", () => undefined);
		setTimeout(() => process.exit(1), deadlineMs).unref();
		process.kill(process.pid, "SIGTERM");
	});
}
