// Listen and record (Audio > Listen and record in the C1410 manual): play the microphone live in
// the browser, and record it continuously to the configured storage. The page reads VAPIX
// receive.cgi (G.711 µ-law at 8 kHz, singlepart), decodes it and plays it with the Web Audio API,
// showing the level it hears; any viewer may listen. Recording (operators) is started and stopped
// through /vigil/audio/recording and resumes after a restart; the recordings are listed, played,
// exported and deleted through /vigil/audio/recordings. Both need the input on.

import * as api from "./api.js";
import { RANK, busy, card, confirmAction, h, localTime, messageArea, say } from "./ui.js";

const RECEIVE = "/axis-cgi/audio/receive.cgi?audiocodec=g711&httptype=singlepart";
const RATE = 8000;

/** G.711 µ-law byte -> sample (-1..1). */
const MULAW = Float32Array.from({ length: 256 }, (_, byte) => {
  const u = ~byte & 0xff;
  const t = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
  return ((u & 0x80) ? 0x84 - t : t - 0x84) / 32768;
});

/** RMS level relative to a full-scale square wave, as the device measures it. */
function dbfs(samples) {
  let sum = 0;
  for (const s of samples) sum += s * s;
  const rms = Math.sqrt(sum / Math.max(1, samples.length));
  return rms > 0 ? Math.max(-120, 20 * Math.log10(rms)) : -120;
}

/** Play the input until `signal` aborts; `onLevel(dBFS)` about five times a second. */
async function listen(signal, onLevel) {
  const response = await fetch(RECEIVE, { signal, credentials: "same-origin", headers: { "X-Requested-With": "vigil" } });
  if (!response.ok) throw new api.ApiError((await response.text()).trim() || `The device answered ${response.status}.`, response.status);
  const context = new AudioContext({ sampleRate: RATE });
  let next = 0;
  let pending = [];
  let pendingLength = 0;
  try {
    const reader = response.body.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const samples = Float32Array.from(value, (b) => MULAW[b]);
      pending.push(samples);
      pendingLength += samples.length;
      if (pendingLength < RATE / 5) continue; // play and measure 200 ms at a time
      const block = new Float32Array(pendingLength);
      let at = 0;
      for (const part of pending) {
        block.set(part, at);
        at += part.length;
      }
      pending = [];
      pendingLength = 0;
      onLevel(dbfs(block));
      const buffer = context.createBuffer(1, block.length, RATE);
      buffer.copyToChannel(block, 0);
      const source = context.createBufferSource();
      source.buffer = buffer;
      source.connect(context.destination);
      next = Math.max(next, context.currentTime + 0.05);
      source.start(next);
      next += buffer.duration;
    }
  } finally {
    context.close();
  }
}

export default async function listenPage(container, app) {
  const area = messageArea();
  const button = h("button", { type: "button", class: "primary", id: "listen-button" }, "Listen");
  const level = h("output", { id: "listen-level", text: "Not listening" });
  const meter = h("meter", { id: "listen-meter", min: "-90", max: "0", value: "-90", "aria-label": "Input level" });
  let stop = null;
  const end = () => {
    if (stop) stop.abort();
    stop = null;
    button.textContent = "Listen";
    level.textContent = "Not listening";
    meter.value = -90;
  };
  button.addEventListener("click", async () => {
    if (stop) {
      end();
      return;
    }
    stop = new AbortController();
    button.textContent = "Stop listening";
    say(area, "", "");
    level.textContent = "Connecting…";
    try {
      await listen(stop.signal, (value) => {
        level.textContent = `Level ${Math.round(value)} dBFS`;
        meter.value = Math.max(-90, value);
      });
      if (stop) say(area, "error", "The stream ended: the audio input was turned off.");
    } catch (error) {
      if (error.name !== "AbortError") {
        if (error instanceof api.ApiError && error.status === 401) app.fail(error);
        else say(area, "error", error.message);
      }
    }
    end();
  });
  const section = card(
    "Listen",
    h("p", { class: "muted", text: "You can only listen if input is turned on for the device (Audio > Device settings)." }),
    h("div", { class: "inline-form" }, button, meter, level),
    area,
  );
  container.append(section);
  api.whenGone(section, end);
  if (RANK[app.role] >= RANK.operator) container.append(recordCard(app));
  container.append(recordingsCard(app));
}

async function recordingRequest(body) {
  const response = await api.request("/vigil/audio/recording", {
    method: body ? "POST" : "GET",
    body: body ? JSON.stringify(body) : undefined,
    headers: body ? { "Content-Type": "application/json" } : {},
    allow: [400],
  });
  const reply = await response.json();
  if (reply.error) throw new api.ApiError(reply.error.message, 400);
  return reply;
}

function recordCard(app) {
  const area = messageArea();
  const button = h("button", { type: "button", id: "record-button" }, "Record");
  const state = h("output", { id: "record-state", text: "—" });
  const storage = h("output", { id: "record-storage", text: "—" });
  const show = (s) => {
    button.textContent = s.wanted ? "Stop recording" : "Record";
    state.textContent = s.recording ? `Recording (${s.recordingId})` : s.wanted ? `Waiting: ${s.problem}` : "Not recording";
    storage.textContent = s.volume || "None";
  };
  recordingRequest().then(show, (error) => app.fail(error, area));
  button.addEventListener("click", () => busy(button, async () => {
    try {
      const now = await recordingRequest();
      show(await recordingRequest({ record: !now.wanted }));
      say(area, "", "");
    } catch (error) {
      app.fail(error, area);
    }
  }));
  return card(
    "Record",
    h("p", { class: "muted", text: "A continuous recording of the live audio; if it is on, it resumes after a restart. It goes to the configured storage (administrators set it up on the Storage page)." }),
    h("div", { class: "inline-form" }, button, state),
    h("p", {}, "Storage: ", storage),
    area,
  );
}

function recordingsCard(app) {
  const area = messageArea();
  const body = h("div");
  const refresh = h("button", { type: "button", id: "recordings-refresh" }, "Refresh");
  const player = h("audio", { controls: "", id: "recording-player" });
  const load = async () => {
    try {
      const { recordings } = await (await api.request("/vigil/audio/recordings")).json();
      if (!recordings.length) {
        body.replaceChildren(h("p", { class: "muted", text: "No recordings." }));
        return;
      }
      const when = (t) => (t ? localTime(new Date(t * 1000).toISOString()) : "ongoing");
      const rows = recordings.map((r) => {
        const url = `/vigil/audio/recordings/play?id=${encodeURIComponent(r.id)}`;
        const play = h("button", { type: "button", text: "Play" });
        play.addEventListener("click", () => {
          player.src = url;
          player.play().catch(() => {});
        });
        const actions = [play, h("a", { href: `${url}&download=1`, download: `${r.id}.mp4`, text: "Export" })];
        if (RANK[app.role] >= RANK.operator && r.stop) {
          const remove = h("button", { type: "button", class: "danger", text: "Delete" });
          remove.addEventListener("click", async () => {
            if (!(await confirmAction("Delete recording", `Delete the recording ${r.id}?`, "Delete"))) return;
            try {
              await recordingRequest({ delete: r.id });
              load();
            } catch (error) {
              app.fail(error, area);
            }
          });
          actions.push(remove);
        }
        return h("tr", { "data-id": r.id }, h("td", { text: r.id }), h("td", { text: when(r.start) }), h("td", { text: when(r.stop) }),
          h("td", { text: `${Math.round(r.bytes / 1000)} kB` }), h("td", {}, h("div", { class: "inline-form" }, actions)));
      });
      body.replaceChildren(h("div", { class: "table-wrap" }, h("table", { id: "audio-recordings" },
        h("thead", {}, h("tr", {}, ["Recording", "Start", "Stop", "Size", ""].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, rows))));
    } catch (error) {
      app.fail(error, area);
    }
  };
  refresh.addEventListener("click", () => busy(refresh, load));
  load();
  const section = card("Recordings", area, body, player);
  section.querySelector("h2").after(h("div", { class: "card-tools" }, refresh));
  return section;
}
