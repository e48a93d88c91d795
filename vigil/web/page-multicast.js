// SIP > Multicast controller (C1410): turn the controller on, its audio codec (played by every
// source that names none of its own), the sources (label, multicast address, port, codec,
// priority, volume, SRTP key) added, edited and removed, and which one plays now. Through the VAPIX Audio Multicast Controller API, which checks everything again.
// Viewers see it; operators change it.

import * as api from "./api.js";
import { RANK, card, clear, confirmAction, field, h, invalid, messageArea, modal, numberInput, say, select } from "./ui.js";

const ROOT = "/config/rest/audio-multicast-ctrl/v1beta";
const CODECS = {
  pcmu: "G.711 µ-law", pcma: "G.711 A-law", opus: "Opus",
  "l16-8000": "L16 8 kHz mono", "l16-16000": "L16 16 kHz mono", "l16-44100": "L16 44.1 kHz mono", "l16-48000": "L16 48 kHz mono",
};
const codecName = (codec) => CODECS[codec] || codec;

function status(source) {
  if (source.playing) return "Playing";
  return source.arriving ? "Arriving (a higher priority plays)" : "Idle";
}

/** The add/edit dialog; resolves when the device took the source, or the user cancelled. */
async function editSource(overview, source, area, app) {
  const label = h("input", { value: source?.label ?? "", maxlength: "64", required: true });
  const address = h("input", { value: source?.address ?? "", placeholder: "239.0.0.1", required: true });
  const port = numberInput(source?.port ?? 5004, overview.port.min, overview.port.max);
  const codec = select({}, [["", `The controller's (${codecName(overview.codec)})`], ...overview.codecs.map((c) => [c, codecName(c)])]);
  codec.value = source?.codec ?? "";
  const priority = select({}, Array.from({ length: overview.priority.max - overview.priority.min + 1 },
    (_, i) => [String(overview.priority.min + i), String(overview.priority.min + i)]));
  priority.value = String(source?.priority ?? 5);
  const volume = numberInput(source?.volume ?? 100, 0, 100);
  const key = h("input", { type: "password", autocomplete: "off", placeholder: source?.srtp ? "(unchanged)" : "" });
  const problem = messageArea();
  const content = h("div", {},
    field("Label", label, "A name no other source uses."),
    field("Source", address, "The multicast address the stream is sent to (224.0.1.0 to 239.255.255.255)."),
    field("Port", port, `The UDP port, ${overview.port.min} to ${overview.port.max}.`),
    field("Audio codec", codec),
    field("Priority", priority, "The highest priority that arrives plays; it interrupts clips."),
    field("Volume (%)", volume),
    field("SRTP key", key, "AES_CM_128_HMAC_SHA1_80 master key and salt in base64 (40 characters); empty for plain RTP."),
    problem,
  );
  return modal({
    title: source ? `Edit ${source.label}` : "Add source",
    content,
    buttons: [{ label: "Cancel", value: "cancel" }, { label: source ? "Save" : "Add", value: "save", class: "primary" }],
    onSubmit: async () => {
      const data = { label: label.value.trim(), address: address.value.trim(), port: Number(port.value),
        codec: codec.value || null, priority: Number(priority.value), volume: Number(volume.value) };
      if (key.value || !source) data.srtpKey = key.value;
      try {
        if (!data.label) throw invalid(label, "Enter a label.");
        if (source) await api.configRest(`${ROOT}/sources/${source.id}`, data, "PATCH");
        else await api.configRest(`${ROOT}/sources`, data, "POST");
        say(area, "ok", `${data.label} is ${source ? "saved" : "added"}.`);
        return true;
      } catch (error) {
        if (error.control) error.control.focus();
        say(problem, "error", error.message);
        return false;
      }
    },
  });
}

export default async function multicastPage(container, app) {
  const operator = RANK[app.role] >= RANK.operator;
  const area = messageArea();
  const enabled = h("input", { type: "checkbox", role: "switch", id: "multicast-enabled", disabled: !operator });
  const now = h("p", { id: "multicast-playing" });
  const codec = select({ id: "multicast-codec", disabled: !operator }, []);
  const rows = h("tbody");
  const add = h("button", { type: "button", class: "primary", disabled: !operator, text: "+ Source" });
  let overview = null;

  async function refresh() {
    overview = await api.configRest(ROOT);
    enabled.checked = overview.enabled;
    if (!codec.options.length) clear(codec, ...overview.codecs.map((c) => h("option", { value: c, text: codecName(c) })));
    if (document.activeElement !== codec) codec.value = overview.codec;
    const playing = overview.sources.find((s) => s.playing);
    now.textContent = playing ? `Playing: ${playing.label}` : "Nothing plays.";
    add.disabled = !operator || overview.sources.length >= overview.maxSources;
    clear(rows, ...overview.sources.map((s) => h("tr", { "data-source": s.label },
      h("td", { text: s.label }), h("td", { text: `${s.address}:${s.port}` }), h("td", { text: s.codec ? codecName(s.codec) : `${codecName(overview.codec)} (the controller's)` }),
      h("td", { text: String(s.priority) }), h("td", { text: `${s.volume}%` }), h("td", { text: s.srtp ? "SRTP" : "RTP" }),
      h("td", { class: "status", text: status(s) }),
      h("td", {},
        h("button", { type: "button", disabled: !operator, "aria-label": `Edit ${s.label}`, text: "Edit",
          onclick: async () => { await editSource(overview, s, area, app); await refresh(); } }),
        h("button", { type: "button", class: "danger", disabled: !operator, "aria-label": `Delete ${s.label}`, text: "Delete",
          onclick: async () => {
            if (!(await confirmAction(`Delete ${s.label}?`, "The speaker stops receiving this source.", "Delete"))) return;
            try {
              await api.configRest(`${ROOT}/sources/${s.id}`, undefined, "DELETE");
              say(area, "ok", `${s.label} is deleted.`);
            } catch (error) {
              app.fail(error, area);
            }
            await refresh();
          } }),
      ))));
  }

  enabled.addEventListener("change", async () => {
    try {
      await api.configRest(`${ROOT}/enabled`, enabled.checked, "PATCH");
      say(area, "ok", `The multicast controller is ${enabled.checked ? "on" : "off"}.`);
    } catch (error) {
      app.fail(error, area);
    }
    await refresh();
  });
  codec.addEventListener("change", async () => {
    try {
      await api.configRest(`${ROOT}/codec`, codec.value, "PATCH");
      say(area, "ok", `Sources without their own codec play ${codecName(codec.value)}.`);
    } catch (error) {
      app.fail(error, area);
    }
    await refresh();
  });
  add.addEventListener("click", async () => {
    await editSource(overview, null, area, app);
    await refresh();
  });

  container.append(
    area,
    card("Multicast controller",
      h("div", { class: "check" }, enabled, h("label", { for: "multicast-enabled", text: "Use multicast controller" })),
      field("Audio codec", codec, "What a source plays unless it names its own codec (L16: linear 16-bit, network byte order, mono)."),
      now,
      h("table", { id: "multicast-sources" },
        h("thead", {}, h("tr", {}, ...["Label", "Source", "Audio codec", "Priority", "Volume", "Transport", "Status", ""]
          .map((t) => h("th", { text: t })))),
        rows),
      add),
  );
  await refresh();
  const timer = setInterval(() => {
    if (!container.isConnected) return clearInterval(timer);
    refresh().catch(() => clearInterval(timer));
  }, 1000);
}
