import { ServiceBroker } from "moleculer";
import { brokerOptions } from "../moleculer.config";
import { apiService } from "./api/api.service";
import { ordersService } from "./orders/orders.service";
import { paymentsService } from "./payments/payments.service";
import { uiService } from "./ui/ui.service";
import type { Config } from "../lib/config";

/** The composition root: which services each node role runs. */
export const roles = ["gateway", "orders", "payments"] as const;
export type Role = (typeof roles)[number];

export const isRole = (r: string): r is Role => (roles as readonly string[]).includes(r);

/** A broker with the services of one node role (not started). */
export function createNode(config: Config, role: Role, nodeName: string = role): ServiceBroker {
	const broker = new ServiceBroker(brokerOptions(config, nodeName));
	if (role === "gateway") {
		broker.createService(apiService(config));
		if (config.serveUi) broker.createService(uiService(config));
	}
	if (role === "orders") broker.createService(ordersService(config));
	if (role === "payments") broker.createService(paymentsService(config));
	return broker;
}
