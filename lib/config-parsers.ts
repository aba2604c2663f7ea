/**
 * How lib/config.ts reads a setting's text: the parsers (URL, list of URLs, integer in a range,
 * boolean, text), each failing with a ConfigError that names the variable, and the URL-list
 * helpers the connections and log lines share.
 */
export class ConfigError extends Error {}

export type Parser<T> = (raw: string, name: string) => T;

export interface Setting<T> {
	env: string;
	doc: string;
	default: T;
	parse: Parser<T>;
}

export const url =
	(protocols: string[]): Parser<string> =>
	(raw, name) => {
		let parsed: URL;
		try {
			parsed = new URL(raw);
		} catch {
			throw new ConfigError(`${name} must be a URL, got "${raw}"`);
		}
		if (!protocols.includes(parsed.protocol))
			throw new ConfigError(`${name} must start with ${protocols.join(" or ")}//, got "${raw}"`);
		return raw;
	};

/**
 * The URLs of a list such as AMQP_URL or TRANSPORTER: comma-separated (Moleculer's own ";" is
 * taken too), blanks around them ignored. A single URL is a list of one.
 */
export function splitUrls(raw: string): string[] {
	return raw
		.split(/[,;]/)
		.map(s => s.trim())
		.filter(Boolean);
}

/** A non-empty list of URLs, each checked like `url`; kept as the normalised comma-separated text. */
export const urlList =
	(protocols: string[]): Parser<string> =>
	(raw, name) => {
		const urls = splitUrls(raw);
		if (!urls.length) throw new ConfigError(`${name} must list at least one URL, got "${raw}"`);
		return urls.map(u => url(protocols)(u, name)).join(",");
	};

export const int =
	(min: number, max: number): Parser<number> =>
	(raw, name) => {
		if (!/^-?\d+$/.test(raw.trim()) || Number(raw) < min || Number(raw) > max)
			throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
		return Number(raw);
	};

export const text: Parser<string> = raw => raw;

export const bool: Parser<boolean> = (raw, name) => {
	if (/^(1|true|yes|on)$/i.test(raw)) return true;
	if (/^(0|false|no|off)$/i.test(raw)) return false;
	throw new ConfigError(`${name} must be true or false, got "${raw}"`);
};

/** A setting: its environment variable, default, parser and the doc line of the README table. */
export function setting<T>(env: string, def: T, parse: Parser<T>, doc: string): Setting<T> {
	return { env, default: def, parse, doc };
}

/** Hides the password of a URL (or of each URL of a list) for log lines and error messages. */
export function redactUrl(raw: string): string {
	if (/[,;]/.test(raw) && splitUrls(raw).length > 1) return splitUrls(raw).map(redactUrl).join(",");
	try {
		const u = new URL(raw);
		if (u.password) u.password = "***";
		return u.toString();
	} catch {
		return raw;
	}
}
