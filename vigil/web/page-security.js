// Security: the tab shell of System > Security. Each section is one entry in SECURITY_TABS:
// [id, label, render(app, panel)] from a module of its own (security-<section>.js); the address
// names the tab (#/security/firewall). A render may return a function to call when the tab is left.
// Administrators only, as the APIs are.

import * as api from "./api.js";
import { dot1xPanel } from "./security-dot1x.js";
import { firewallPanel } from "./security-firewall.js";
import { clear, h, uid } from "./ui.js";

export const SECURITY_TABS = [
  ["firewall", "Firewall", firewallPanel],
  ["dot1x", "IEEE 802.1X", dot1xPanel],
];

function tabInAddress() {
  const id = location.hash.split("/")[2];
  return SECURITY_TABS.some((t) => t[0] === id) ? id : SECURITY_TABS[0][0];
}

export default async function securityPage(container, app) {
  const panelId = uid("panel");
  const tabs = SECURITY_TABS.map(([id, label]) =>
    h("button", { type: "button", role: "tab", id: `security-tab-${id}`, "aria-controls": panelId, "data-tab": id }, label),
  );
  const panel = h("div", { role: "tabpanel", id: panelId, class: "tab-panel" });
  container.append(h("div", { role: "tablist", "aria-label": "Security", class: "tabs page-tabs" }, tabs), panel);
  let cleanup = null;

  async function choose(id, focus = false) {
    if (cleanup) cleanup();
    cleanup = null;
    for (const tab of tabs) {
      const on = tab.dataset.tab === id;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
      if (on && focus) tab.focus();
    }
    panel.setAttribute("aria-labelledby", `security-tab-${id}`);
    history.replaceState(null, "", `#/security/${id}`);
    clear(panel);
    const result = await SECURITY_TABS.find((t) => t[0] === id)[2](app, panel);
    if (typeof result === "function") cleanup = result;
  }
  tabs.forEach((tab, index) => {
    tab.addEventListener("click", () => choose(tab.dataset.tab));
    tab.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!step) return;
      event.preventDefault();
      choose(tabs[(index + step + tabs.length) % tabs.length].dataset.tab, true);
    });
  });
  api.whenGone(container, () => cleanup && cleanup());
  await choose(tabInAddress());
}
