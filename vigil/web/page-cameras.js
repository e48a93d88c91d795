// Cameras (recorders): the cameras the recorder records, with their connection state; add, edit
// and remove a camera (RTSP address and credentials, transport, continuous or event recording,
// retention, volume) and test it before saving (recorder.cgi listSources, setSource,
// removeSource, testSource), and where its events come from for rules (cameraevents). The password is never shown: "******" keeps the stored one.
// Below, ONVIF cameras found on the network (cameras-onvif.js) are added in one click.

import * as api from "./api.js";
import onvifCard from "./cameras-onvif.js";
import { busy, card, checkbox, clear, confirmAction, field, h, invalid, messageArea, modal, numberInput, say, select } from "./ui.js";

const RECORDER = "/axis-cgi/recorder.cgi";
const CONNECTION_TOPIC = "tns1:Device/tnsaxis:Recorder/SourceConnection";
const HIDDEN = "******";
const recorder = (method, params) => api.jsonApi(RECORDER, "1.0", method, params);

async function volumeChoices(app) {
  const choices = [["default", "Default (the onboard volume)"]];
  if (!app.hasApi("storage")) return choices;
  try {
    const status = await api.jsonApi("/axis-cgi/storage.cgi", "1.0", "getStatus", {});
    for (const volume of status.volumes || []) choices.push([volume.diskId, volume.diskId]);
  } catch {
    // the onboard volume is always there
  }
  return choices;
}

function hostOf(url) {
  try {
    return new URL(url.replace(/^rtsp:/, "http:")).host;
  } catch {
    return url;
  }
}

function connectionText(source) {
  if (!source.enabled) return "Off";
  return source.connected ? "Connected" : "Not connected";
}

/** What a camera test found, in words. */
export function testedText(camera) {
  const codec = camera.video === "H265" ? "H.265" : "H.264";
  const audio = camera.audio ? `, audio ${camera.audio}` : ", no audio";
  return `The camera works: ${codec} ${camera.width}×${camera.height}${audio}.`;
}

function nextId(sources) {
  const taken = new Set(sources.map((s) => s.id));
  let n = 1;
  while (taken.has(`cam${n}`)) n += 1;
  return `cam${n}`;
}

/** The add/edit dialog; resolves true when the camera was saved. `preset` fills a new camera. */
export async function cameraDialog(app, sources, current = null, preset = {}) {
  const source = current || { id: nextId(sources), name: "", url: "", username: "", password: "", transport: "tcp",
    enabled: true, continuous: true, retention_days: 0, volume: "default", events: "", ...preset };
  const id = h("input", { id: "camera-id", value: source.id, maxlength: "32", readonly: Boolean(current), autocomplete: "off" });
  const name = h("input", { id: "camera-name", value: source.name, maxlength: "64", autocomplete: "off" });
  const url = h("input", { id: "camera-url", value: source.url, maxlength: "1024", autocomplete: "off", placeholder: "rtsp://192.168.0.90/axis-media/media.amp" });
  const username = h("input", { id: "camera-username", value: source.username, maxlength: "64", autocomplete: "off" });
  const password = h("input", { id: "camera-password", type: "password", value: source.password, maxlength: "64", autocomplete: "new-password" });
  const transport = select({ id: "camera-transport" }, [["tcp", "TCP (RTP in the RTSP connection)"], ["udp", "UDP"]]);
  transport.value = source.transport;
  const enabled = checkbox("Record this camera", source.enabled, "Off: the camera stays configured but is not connected.");
  const mode = select({ id: "camera-mode" }, [["continuous", "Continuous"], ["event", "Event (rules start the recordings)"]]);
  mode.value = source.continuous ? "continuous" : "event";
  const retention = numberInput(source.retention_days, 0, 3650);
  retention.id = "camera-retention";
  const volume = select({ id: "camera-volume" }, await volumeChoices(app));
  if (![...volume.options].some((o) => o.value === source.volume)) volume.append(h("option", { value: source.volume, text: source.volume }));
  volume.value = source.volume;
  const events = h("input", { id: "camera-events", value: source.events || "", maxlength: "256", autocomplete: "off", placeholder: "http://192.168.0.90" });
  const area = messageArea();

  const form = () => {
    const body = {
      id: id.value.trim(),
      name: name.value.trim(),
      url: url.value.trim(),
      username: username.value,
      password: password.value,
      transport: transport.value,
      enabled: enabled.box.checked,
      continuous: mode.value === "continuous",
      retention_days: Number(retention.value),
      volume: volume.value,
      events: events.value.trim(),
    };
    if (!body.url) throw invalid(url, "Enter the camera's RTSP address.");
    if (!Number.isInteger(body.retention_days) || body.retention_days < 0 || body.retention_days > 3650) {
      throw invalid(retention, "Retention is 0 (until the volume is full) to 3650 days.");
    }
    return body;
  };

  const content = h(
    "div",
    { id: "camera-form" },
    field("Name", name),
    field("Source id", id, current ? "The id cannot change." : "Letters, digits, - and _; it names the camera's recordings."),
    field("RTSP address", url, "Without user name and password: they have their own fields."),
    field("User name", username),
    field("Password", password, current && current.password ? "Leave ****** to keep the stored password." : null),
    field("Transport", transport),
    enabled.element,
    field("Recording", mode, "Event: the camera is recorded while a rule's \"Record video\" action runs."),
    field("Retention (days)", retention, "0 keeps recordings until the volume is full."),
    field("Volume", volume),
    field("Events address", events, "The camera's web address: rules can then use its events (motion, inputs) as conditions, through its event stream or ONVIF. Empty: none."),
    area,
  );
  const saved = await modal({
    title: current ? `Edit ${current.name}` : "Add camera",
    content,
    wide: true,
    buttons: [
      { label: "Cancel", value: "cancel" },
      { label: "Test camera", value: "test" },
      { label: "Save", value: "save", class: "primary" },
    ],
    onSubmit: async (value) => {
      let body;
      try {
        body = form();
      } catch (error) {
        say(area, "error", error.message);
        error.control?.focus();
        return false;
      }
      if (value === "test") {
        say(area, "info", "Testing the camera…");
        try {
          const reply = await recorder("testSource", { source: body });
          say(area, "ok", testedText(reply.camera));
        } catch (error) {
          if (error instanceof api.ApiError && error.status === 401) app.fail(error);
          else say(area, "error", error.message);
        }
        return false;
      }
      if (!body.name) {
        say(area, "error", "Enter a name for the camera.");
        name.focus();
        return false;
      }
      try {
        await recorder("setSource", { source: body });
        return true;
      } catch (error) {
        if (error instanceof api.ApiError && error.status === 401) app.fail(error);
        else say(area, "error", error.message);
        return false;
      }
    },
  });
  return saved === "save";
}

function cameraRow(app, source, actions) {
  return h(
    "tr",
    { "data-source": source.id },
    h("td", { text: source.name }),
    h("td", { text: source.id }),
    h("td", { text: hostOf(source.url) }),
    h("td", { class: "connection", text: connectionText(source) }),
    h("td", { text: source.continuous ? "Continuous" : "Event" }),
    h("td", { text: source.retention_days ? `${source.retention_days} days` : "Until full" }),
    h("td", { text: source.volume }),
    h(
      "td",
      { class: "actions" },
      h("button", { type: "button", "aria-label": `Edit ${source.name}`, onclick: () => actions.edit(source) }, "Edit"),
      h("button", { type: "button", class: "danger", "aria-label": `Remove ${source.name}`, onclick: () => actions.remove(source) }, "Remove"),
    ),
  );
}

export default async function camerasPage(container, app) {
  const area = messageArea();
  const body = h("tbody");
  const table = h(
    "table",
    { id: "cameras-list" },
    h("thead", {}, h("tr", {}, ["Name", "Id", "Address", "Connection", "Recording", "Retention", "Volume", ""].map((t) => h("th", { text: t })))),
    body,
  );
  const empty = h("p", { class: "hint", text: "No cameras yet. Add one with its RTSP address." });
  let sources = [];

  const actions = {
    async edit(source) {
      if (await cameraDialog(app, sources, source)) {
        say(area, "ok", `${source.name} is saved; the recorder connects with the new settings.`);
        await refresh();
      }
    },
    async remove(source) {
      const sure = await confirmAction("Remove camera", `Remove ${source.name}? Its recordings stay until retention removes them.`, "Remove");
      if (!sure) return;
      try {
        await recorder("removeSource", { id: source.id });
        say(area, "ok", `${source.name} is removed.`);
        await refresh();
      } catch (error) {
        app.fail(error, area);
      }
    },
    async add(preset = {}) {
      if (await cameraDialog(app, sources, null, preset)) {
        say(area, "ok", "The camera is added; the recorder connects to it now.");
        await refresh();
      }
    },
  };

  async function refresh() {
    try {
      sources = (await recorder("listSources", {})).sources;
    } catch (error) {
      app.fail(error, area);
      return;
    }
    clear(body, sources.map((s) => cameraRow(app, s, actions)));
    empty.hidden = sources.length > 0;
  }

  const add = h("button", { type: "button", class: "primary", id: "camera-add" }, "Add camera");
  add.addEventListener("click", () => busy(add, () => actions.add()));
  container.append(card("Cameras", area, table, empty, h("div", { class: "actions" }, add)));
  container.append(onvifCard(app, actions));
  await refresh();
  // The connection column follows the recorder's connection events as they happen.
  const connections = new Map();
  const stream = api.eventStream([CONNECTION_TOPIC], {
    onEvent({ source, data }) {
      const id = source.source;
      connections.set(id, data.connected === "1");
      const cell = body.querySelector(`tr[data-source="${CSS.escape(id || "")}"] .connection`);
      const known = sources.find((s) => s.id === id);
      if (cell && known) cell.textContent = connectionText({ ...known, connected: connections.get(id) });
    },
  });
  const timer = setInterval(refresh, 15000);
  api.whenGone(container, () => {
    clearInterval(timer);
    stream.close();
  });
}
