// Events: the tab shell of rules, schedules, recipients and manual triggers (virtual inputs),
// each in its own module (events-*.js). Everything goes through the VAPIX event and action
// services (soap.js). Operators may look and use manual triggers; administrators change things,
// as the API says.

import * as api from "./api.js";
import { recipientsPanel } from "./events-recipients.js";
import { rulesPanel } from "./events-rules.js";
import { schedulesPanel } from "./events-schedules.js";
import { VIRTUAL_TOPIC, triggersPanel } from "./events-triggers.js";
import * as soap from "./soap.js";
import { clear, h, messageArea, uid } from "./ui.js";

// -- the page -------------------------------------------------------------------------------------------
export default async function eventsPage(container, app) {
  const area = messageArea();
  container.append(area);
  let topics = [];
  try {
    topics = await soap.eventInstances();
  } catch (error) {
    app.fail(error, area);
  }
  const virtual = topics.find((t) => t.topic === VIRTUAL_TOPIC);
  const tabsSpec = [
    ["rules", "Rules", (panel) => rulesPanel(app, panel)],
    ["schedules", "Schedules", (panel) => schedulesPanel(app, panel)],
    ["recipients", "Recipients", (panel) => recipientsPanel(app, panel)],
  ];
  if (virtual) tabsSpec.push(["triggers", "Manual triggers", (panel) => triggersPanel(app, panel, virtual)]);
  const panelId = uid("panel");
  const tabs = tabsSpec.map(([id, label]) =>
    h("button", { type: "button", role: "tab", id: `events-tab-${id}`, "aria-controls": panelId, "data-tab": id }, label),
  );
  const panel = h("div", { role: "tabpanel", id: panelId, class: "tab-panel" });
  container.append(h("div", { role: "tablist", "aria-label": "Events", class: "tabs page-tabs" }, tabs), panel);
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
    panel.setAttribute("aria-labelledby", `events-tab-${id}`);
    clear(panel);
    const spec = tabsSpec.find((t) => t[0] === id);
    const result = await spec[2](panel);
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
  await choose("rules");
}
