import { createPinia } from "pinia";
import { createApp } from "vue";
import App from "./App.vue";
import { i18n } from "./i18n";
import { useSessionStore } from "./stores/session";
import "./styles/theme.css";
import "./styles/base.css";
import "./styles/controls.css";
import "./styles/transitions.css";

const pinia = createPinia();
const app = createApp(App).use(pinia).use(i18n);
// The auth mode decides what the header asks for and how calls are signed: know it first.
void useSessionStore(pinia)
	.loadAuthConfig()
	.finally(() => app.mount("#app"));
