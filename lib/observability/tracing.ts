/**
 * TRACING=true: Moleculer traces every request (the gateway's HTTP span, then each action
 * call on whatever node runs it; the trace id is the request id, X-Request-ID if the client
 * sent one) and this exporter writes each finished span as one log line. With the consumers'
 * per-message lines (orderId, messageId), one order can be followed in the logs from its
 * POST through payments and back to its final status.
 */
import { TracerExporters, TracerOptions } from "moleculer";

interface SpanLike {
	id: string;
	traceID: string;
	parentID?: string | null;
	name: string;
	duration?: number | null;
	service?: { name?: string };
	error?: { message?: string; type?: string } | boolean | null;
	/** What Moleculer's tracer records of a call (only the fields read here). */
	tags?: {
		requestID?: string;
		meta?: { userId?: unknown };
		params?: { id?: unknown };
		response?: { id?: unknown; status?: unknown };
	};
}

/** The trace fields of a finished span, with the ids a reader searches for lifted to the top. */
export function spanFields(span: SpanLike): Record<string, unknown> {
	const tags = span.tags ?? {};
	const fields: Record<string, unknown> = {
		traceId: span.traceID,
		spanId: span.id,
		parentId: span.parentID ?? null,
		span: span.name,
		durationMs:
			typeof span.duration === "number" ? Math.round(span.duration * 100) / 100 : undefined,
		requestId: tags.requestID,
	};
	if (span.service?.name) fields.service = span.service.name;
	const userId = tags.meta?.userId;
	if (userId !== undefined) fields.userId = userId;
	const orderId = tags.response?.id ?? tags.params?.id;
	if (orderId !== undefined) fields.orderId = orderId;
	if (tags.response?.status !== undefined) fields.status = tags.response.status;
	if (span.error && typeof span.error === "object")
		fields.error = { message: span.error.message, type: span.error.type };
	return fields;
}

export class LogSpanExporter extends TracerExporters.Base {
	spanFinished(span: SpanLike): void {
		this.logger.info("Span finished", spanFields(span));
	}
}

/** Moleculer `tracing` options: off unless TRACING=true. */
export function tracingOptions(enabled: boolean): TracerOptions {
	return {
		enabled,
		// Moleculer takes an exporter instance too; its typings know only names and options.
		exporter: (enabled ? [new LogSpanExporter({})] : []) as unknown as TracerOptions["exporter"],
		// What a span records of each action call: ids only, never bodies (descriptions, amounts).
		tags: { action: { params: ["id"], meta: ["userId"], response: ["id", "status"] } },
	};
}
