/** The gateway serves both the REST API and socket.io; the dashboard itself is served elsewhere (:3000). */
export function apiBaseUrl(): string {
	const fromEnv = import.meta.env.VITE_API_URL as string | undefined;
	if (fromEnv) return fromEnv.replace(/\/+$/, "");
	return `${location.protocol}//${location.hostname}:8000`;
}
