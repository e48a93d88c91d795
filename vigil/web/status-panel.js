// Status > Front panel (S3008, S3016, S4000): the LEDs as the recorder shows them, the buzzer
// and why it sounds (Silence, for operators, does what a short press of the power button does),
// what the power button does, and the parts this machine lacks. Read from /vigil/panel.

import * as api from "./api.js";
import { RANK, busy, card, clear, facts, h, messageArea, say } from "./ui.js";

const NAMES = { status: "Product status", network: "Network port" };

function ledName(name) {
  if (NAMES[name]) return NAMES[name];
  const disk = /^disk(\d+)$/.exec(name);
  if (disk) return `Hard drive ${disk[1]}`;
  const poe = /^poe(\d+)$/.exec(name);
  return poe ? `PoE port ${poe[1]}` : name;
}

/** The card, or null on a device without a front panel. */
export async function panelCard(app) {
  const first = await api.request("/vigil/panel", { allow: [404] });
  if (first.status === 404) return null;
  const area = messageArea();
  const body = h("div", { id: "front-panel" });
  const silence = h("button", { type: "button", id: "panel-silence" }, "Silence buzzer");
  const operator = RANK[app.role] >= RANK.operator;
  const render = (view) => {
    const buzzer = view.buzzer
      ? h("span", { class: "pill off", id: "panel-buzzer", text: `Sounding: ${view.reasons.filter((r) => !r.silenced).map((r) => r.reason).join("; ")}` })
      : h("span", { class: "pill on", id: "panel-buzzer", text: view.reasons.length ? "Silenced" : "Silent" });
    silence.hidden = !operator || !view.buzzer;
    const missing = Object.entries(view.missing);
    clear(
      body,
      facts([
        ...view.leds.map((led) => [ledName(led.name), h("span", { class: `led led-${led.colors[0] || "off"}`, "data-led": led.name, text: led.state })]),
        ["Buzzer", buzzer],
        ["Power button", "A short press silences the buzzer; hold it 4 seconds (until the beep) to shut the recorder down."],
        missing.length ? ["Not on this machine", missing.map(([part, why]) => `${part}: ${why}`).join("; ")] : null,
      ]),
    );
  };
  render(await first.json());
  silence.addEventListener("click", () =>
    busy(silence, async () => {
      try {
        const reply = await (await api.request("/vigil/panel/silence", { method: "POST" })).json();
        render(reply);
        say(area, "ok", "The buzzer is silenced until a new reason sounds it.");
      } catch (error) {
        app.fail(error, area);
      }
    }),
  );
  const section = card("Front panel", area, body);
  section.querySelector("h2").after(h("div", { class: "card-tools" }, silence));
  const timer = setInterval(async () => {
    if (!section.isConnected) return clearInterval(timer);
    try {
      render(await (await api.request("/vigil/panel")).json());
    } catch {
      clearInterval(timer);
    }
  }, 2000);
  return section;
}
