// Events > Manual triggers: the virtual inputs, switched by hand and shown live from the event stream.

import * as api from "./api.js";
import * as soap from "./soap.js";
import { busy, card, h, messageArea, say } from "./ui.js";

export const VIRTUAL_TOPIC = "tns1:Device/tnsaxis:IO/VirtualInput";

export async function triggersPanel(app, panel, topic) {
  const area = messageArea();
  const count = topic.source[0]?.values.length || 32;
  const states = new Map();
  const live = h("span", { class: "live muted", text: "Connecting…" });
  const buttons = [];
  for (let n = 1; n <= count; n += 1) {
    const button = h("button", { type: "button", class: "trigger", "aria-pressed": "false", "aria-label": `Virtual input ${n}`, "data-port": String(n) }, String(n));
    button.addEventListener("click", () =>
      busy(button, async () => {
        const active = !states.get(n);
        try {
          await soap.changeVirtualInput(n, active);
          states.set(n, active);
          show(n);
          say(area, "ok", `Virtual input ${n} is ${active ? "active" : "inactive"}.`);
        } catch (error) {
          app.fail(error, area);
        }
      }),
    );
    buttons.push(button);
  }
  const show = (n) => {
    const on = Boolean(states.get(n));
    const button = buttons[n - 1];
    if (!button) return;
    button.setAttribute("aria-pressed", String(on));
    button.title = on ? `Virtual input ${n} is active: click to deactivate` : `Virtual input ${n} is inactive: click to activate`;
  };
  const section = card(
    "Manual triggers",
    h("p", {
      class: "muted",
      text: "Virtual inputs are conditions you switch by hand, for example to try a rule's action during installation. A pressed button is active.",
    }),
    area,
    h("div", { class: "trigger-grid", role: "group", "aria-label": "Virtual inputs" }, buttons),
  );
  section.querySelector("h2").after(h("div", { class: "card-tools" }, live));
  panel.append(section);
  const stream = api.eventStream([VIRTUAL_TOPIC], {
    onEvent(event) {
      if (event.topic !== VIRTUAL_TOPIC) return;
      const n = Number(event.source.port);
      states.set(n, event.data.active === "1" || event.data.active === "true");
      show(n);
    },
    onStatus(status) {
      live.textContent = status === "open" ? "Live" : "Not live: reopen the tab to update";
      live.className = status === "open" ? "live on" : "live muted";
    },
  });
  return () => stream.close();
}
