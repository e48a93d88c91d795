// Security: the tab shell of System > Security. Each section is one entry in SECURITY_TABS:
// [id, label, render(app, panel)] from a module of its own (security-<section>.js); the address
// names the tab (#/security/firewall). A render may return a function to call when the tab is left.
// Administrators only, as the APIs are.

import * as api from "./api.js";
import { dot1xPanel } from "./security-dot1x.js";
import { firewallPanel } from "./security-firewall.js";
import { certificatesPanel } from "./security-tls.js";
import { pageTabs } from "./ui.js";

export const SECURITY_TABS = [
  ["certificates", "Certificates and HTTPS", certificatesPanel],
  ["firewall", "Firewall", firewallPanel],
  ["dot1x", "IEEE 802.1X", dot1xPanel],
];

export default async function securityPage(container, app) {
  const entries = SECURITY_TABS.map(([id, label, render]) => [id, label, (panel) => render(app, panel)]);
  const stop = await pageTabs(container, "Security", entries, { route: "security" });
  api.whenGone(container, stop);
}
