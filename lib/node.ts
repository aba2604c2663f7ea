import { ServiceBroker } from "moleculer";
import { brokerOptions } from "../moleculer.config";
import { apiService } from "../services/api/api.service";
import { ordersService } from "../services/orders/orders.service";
import { paymentsService } from "../services/payments/payments.service";
import { uiService } from "../services/ui/ui.service";
import type { Config } from "./config";

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
