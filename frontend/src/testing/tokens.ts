/** A JWT-shaped string for the dashboard's tests (the dashboard never verifies signatures). */
export function fakeToken(sub: string, expiresAt: number): string {
	const part = (o: object) =>
		btoa(JSON.stringify(o)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
	return `${part({ alg: "HS256", typ: "JWT" })}.${part({ sub, exp: Math.floor(expiresAt / 1000) })}.c2lnbmF0dXJl`;
}
