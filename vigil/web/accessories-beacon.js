// Accessories > Bluetooth beacon: what the device broadcasts now, the body-worn systems' signals
// it hears (System ID, port, sender, signal strength, active), and for administrators the
// receive settings (the weakest signal that counts, how long a signal stays received). From
// /vigil/beacon and param.cgi; kept live by the beacon events.

import * as api from "./api.js";
import { RANK, card, clear, facts, field, h, numberInput, say } from "./ui.js";

const STATUS = "/vigil/beacon";
const TOPICS = ["tns1:Device/tnsaxis:Bluetooth/BeaconSignal", "tns1:Device/tnsaxis:Bluetooth/BeaconBroadcast",
  "tns1:Device/tnsaxis:Bluetooth/MalformedBeacon"];
const THRESHOLD = "Bluetooth.Beacon.RSSIThreshold";
const HOLD = "Bluetooth.Beacon.HoldTime";

/** The beacon card, appended to `container`; nothing on a device without Bluetooth. `area`: the
 * page's message area (one per page). */
export default async function beaconCard(container, app, area) {
  const first = await api.request(STATUS, { allow: [404] });
  if (first.status === 404) return;
  const admin = RANK[app.role] >= RANK.admin;
  const onAir = h("div", { id: "beacon-on-air" });
  const heardBody = h("tbody");
  const heard = h(
    "table",
    { id: "beacon-heard" },
    h("caption", { class: "visually-hidden", text: "Beacon signals heard" }),
    h("thead", {}, h("tr", {}, ["System ID", "Port", "Sender", "Signal", "State", "Last heard"].map((t) => h("th", { scope: "col", text: t })))),
    heardBody,
  );
  const counters = h("p", { class: "muted", id: "beacon-counters" });
  const settings = h("div");
  container.append(
    card(
      "Bluetooth beacon",
      h("p", {
        class: "muted",
        text:
          "Rules with the condition “Bluetooth beacon signal received” react to body worn cameras near the device; " +
          "the action “Broadcast signal” makes cameras near it start recording.",
      }),
      h("h3", { text: "Broadcasting now" }),
      onAir,
      h("h3", { text: "Signals heard" }),
      h("div", { class: "table-wrap" }, heard),
      counters,
      settings,
    ),
  );

  function render(status) {
    clear(
      onAir,
      status.onAir.length
        ? h("ul", {}, status.onAir.map((b) => h("li", { text: `System ID ${b.systemId}, message type ${b.messageType}${b.message ? ` (${b.message})` : ""}` })))
        : h("p", { class: "muted", text: "Nothing." }),
    );
    clear(
      heardBody,
      status.heard.length
        ? status.heard.map((s) =>
            h(
              "tr",
              { "data-system": s.systemId, "data-port": String(s.port) },
              h("td", { text: s.systemId }),
              h("td", { text: s.message ? `${s.port} (${s.message})` : String(s.port) }),
              h("td", { text: s.address }),
              h("td", { text: `${s.rssi} dBm` }),
              h("td", {}, h("span", { class: s.active ? "pill on" : "pill off", text: s.active ? "Active" : "Inactive" })),
              h("td", { text: `${s.secondsAgo} s ago` }),
            ),
          )
        : h("tr", {}, h("td", { colspan: "6", class: "muted", text: "No beacon heard yet." })),
    );
    const c = status.counters;
    counters.textContent = `${c.signals} signals, ${c.duplicates} repeats suppressed, ${c.weak} too weak, ${c.malformed} malformed.`;
  }

  function renderSettings(status) {
    if (!admin) {
      clear(settings, facts([["Weakest signal that counts", `${status.rssiThreshold} dBm`], ["Signal stays received", `${status.holdTime} s`]]));
      return;
    }
    const threshold = numberInput(status.rssiThreshold, -127, 0);
    const hold = numberInput(status.holdTime, 1, 600);
    const save = h("button", { type: "submit", class: "primary" }, "Save");
    const form = h(
      "form",
      { id: "beacon-settings", novalidate: true },
      field("Weakest signal that counts (dBm)", threshold, "Beacons heard weaker than this are too far away: -127 to 0."),
      field("Signal stays received (s)", hold, "How long a signal stays active after it was last heard: 1 to 600 seconds."),
      save,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await api.updateParams({ [THRESHOLD]: threshold.value, [HOLD]: hold.value });
        say(area, "ok", "Beacon settings saved.");
      } catch (error) {
        app.fail(error, area);
      }
    });
    clear(settings, form);
  }

  async function refresh() {
    try {
      render(await (await api.request(STATUS)).json());
    } catch (error) {
      app.fail(error, area);
    }
  }

  const status = await first.json();
  render(status);
  renderSettings(status);
  let pending = null;
  const stream = api.eventStream(TOPICS, {
    onEvent() {
      clearTimeout(pending);
      pending = setTimeout(refresh, 100);
    },
  });
  api.whenGone(container, () => {
    stream.close();
    clearTimeout(pending);
  });
}
