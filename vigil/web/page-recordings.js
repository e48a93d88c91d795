// Recordings (recorders only): filter and list the recordings (record/list.cgi), play any range
// of one in the browser (record/play.cgi, a fragmented MP4 the <video> element seeks in),
// export a range as MP4 or Matroska, optionally encrypted, with progress (record/export/jobs.cgi),
// kept on the device for download or written to the USB drive (with its status and safe eject),
// and delete (administrators); a camera's timeline (recordings-timeline.js) plays from the instant
// clicked. Also the "Ongoing recordings" card of the Status page.

import * as api from "./api.js";
import { timelineCard } from "./recordings-timeline.js";
import { busy, card, clear, confirmAction, field, h, localTime, messageArea, modal, say, uid } from "./ui.js";

const TYPES = [
  ["", "All types"],
  ["continuous", "Continuous"],
  ["triggered", "Triggered"],
  ["manual", "Manual"],
];
const FORMATS = [
  ["mp4", "MP4"],
  ["matroska", "Matroska (MKV)"],
];
const DESTINATIONS = [
  ["device", "Download from the device"],
  ["usb", "USB drive"],
];
const ENCRYPTION = "openssl-aes256-ctr"; // OpenSSL's format in CTR mode: several times faster than CBC
const PLAY = "/axis-cgi/record/play.cgi";
const JOBS = "/axis-cgi/record/export/jobs.cgi";
const MAX_DEFAULT_SPAN = 3600 * 1000; // play at most an hour unless asked for more
const ONGOING_SPAN = 300 * 1000; // of an ongoing recording, the last five minutes

// -- the public API, as this page uses it --------------------------------------------------
/** An XML reply; `<error code description>` (or the export API's GeneralError) becomes an ApiError. */
async function xml(url, options) {
  const source = await (await api.request(url, options)).text();
  const doc = new DOMParser().parseFromString(source, "application/xml");
  if (doc.getElementsByTagName("parsererror").length) throw new api.ApiError("The device sent an unreadable answer.");
  const error = doc.querySelector("error");
  if (error) throw new api.ApiError(`${error.getAttribute("description")} (error ${error.getAttribute("code")})`);
  const general = doc.querySelector("GeneralError");
  if (general) {
    const code = general.querySelector("ErrorCode")?.textContent;
    throw new api.ApiError(`${general.querySelector("ErrorDescription")?.textContent} (error ${code})`);
  }
  return doc;
}

export async function listRecordings(filter) {
  const query = new URLSearchParams({ recordingid: "all", sortorder: "descending" });
  for (const [key, value] of Object.entries(filter)) if (value) query.set(key, value);
  const doc = await xml(`/axis-cgi/record/list.cgi?${query}`);
  return [...doc.querySelectorAll("recording")].map((r) => ({
    id: r.getAttribute("recordingid"),
    disk: r.getAttribute("diskid"),
    source: r.getAttribute("source"),
    type: r.getAttribute("recordingtype"),
    start: r.getAttribute("starttime"),
    stop: r.getAttribute("stoptime"),
    ongoing: r.getAttribute("recordingstatus") === "recording",
    size: Number(r.getAttribute("size") || 0),
    event: r.getAttribute("eventid") || "",
  }));
}

const recorder = (method, params) => api.jsonApi("/axis-cgi/recorder.cgi", "1.0", method, params);
const jobs = (method, params) => api.jsonApi(JOBS, "1.0", method, params);

// -- times ----------------------------------------------------------------------------------
const pad = (n) => String(n).padStart(2, "0");

/** A Date as the value of a datetime-local input (the browser's time zone, to the second). */
function toInput(date) {
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
  );
}

/** A datetime-local value as UTC ISO 8601, or "" when empty; throws on nonsense. */
function fromInput(input, label) {
  if (!input.value) return "";
  const date = new Date(input.value);
  if (Number.isNaN(date.getTime())) throw new api.ApiError(`${label} is not a valid time.`);
  return date.toISOString();
}

function timeInput(name) {
  return h("input", { type: "datetime-local", step: "1", name, id: uid(name) });
}

function size(bytes) {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${Math.round(bytes / 1e3)} kB`;
}

function clock(date) {
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

// -- playback -------------------------------------------------------------------------------
function playerCard(app) {
  const area = messageArea();
  const title = h("p", { class: "muted", id: "playback-title", text: "Choose Play on a recording." });
  const from = timeInput("play-from");
  const to = timeInput("play-to");
  const play = h("button", { type: "submit", class: "primary", id: "play-range" }, "Play range");
  const form = h(
    "form",
    { class: "inline-form", novalidate: true, hidden: true },
    field("From", from),
    field("To", to, "Leave empty to play to the end (of what is recorded so far)."),
    h("div", { class: "actions" }, play),
  );
  const video = h("video", { id: "playback-video", controls: true, preload: "auto", playsinline: true, hidden: true });
  video.muted = true; // recordings rarely carry sound worth autoplaying; the control turns it on
  const position = h("p", { class: "muted", id: "playback-position", "aria-live": "off" });
  const state = { recording: null, start: null };
  const listeners = [];

  video.addEventListener("timeupdate", () => {
    if (!state.start) return;
    const shown = new Date(state.start.getTime() + video.currentTime * 1000);
    position.textContent = `Showing ${localTime(shown.toISOString())}`;
    for (const listener of listeners) listener(shown);
  });
  video.addEventListener("error", () => {
    const code = video.error ? video.error.code : 0;
    say(area, "error", `The browser cannot play this range (media error ${code}${video.error?.message ? `: ${video.error.message}` : ""}).`);
  });

  async function start() {
    const recording = state.recording;
    let startIso;
    let stopIso;
    try {
      startIso = fromInput(from, "From");
      stopIso = fromInput(to, "To");
    } catch (error) {
      say(area, "error", error.message);
      return;
    }
    const query = new URLSearchParams({ recordingid: recording.id });
    if (startIso) query.set("starttime", startIso);
    if (stopIso) query.set("stoptime", stopIso);
    // Ask for one byte first: it checks the range, follows the pinning redirect of an ongoing
    // recording and tells when the file really starts (the key frame before "From").
    let response;
    try {
      response = await api.request(`${PLAY}?${query}`, { headers: { Range: "bytes=0-0" }, allow: [400, 404] });
      if (!response.ok) {
        const doc = new DOMParser().parseFromString(await response.text(), "application/xml");
        const error = doc.querySelector("error");
        throw new api.ApiError(error ? error.getAttribute("description") : `The device answered ${response.status}.`);
      }
    } catch (error) {
      app.fail(error, area);
      return;
    }
    const fileStart = new Date(response.headers.get("X-Vigil-Start-Time"));
    const fileStop = new Date(response.headers.get("X-Vigil-Stop-Time"));
    const skip = startIso ? Math.max(0, (new Date(startIso) - fileStart) / 1000) : 0;
    state.start = fileStart;
    say(area, "", "");
    title.textContent = `${recording.source}: ${localTime(fileStart.toISOString())} to ${clock(fileStop)}`;
    video.hidden = false;
    video.src = response.url;
    video.addEventListener(
      "loadedmetadata",
      () => {
        if (skip > 0 && skip < video.duration) video.currentTime = skip;
      },
      { once: true },
    );
    try {
      await video.play();
    } catch (error) {
      // A refused autoplay is not an error; the controls are there.
      if (error.name !== "NotAllowedError" && error.name !== "AbortError") say(area, "error", error.message);
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(play, start);
  });

  const section = card("Playback", title, form, area, video, position);
  section.id = "playback-card";
  return {
    element: section,
    /** Show a recording and play it: a finished one from its start (at most an hour), an
     * ongoing one its last five minutes up to now. The range can then be changed. */
    open(recording) {
      state.recording = recording;
      form.hidden = false;
      const started = new Date(recording.start);
      const begin = recording.ongoing ? new Date(Math.max(started.getTime(), Date.now() - ONGOING_SPAN)) : started;
      from.value = toInput(begin);
      const end = recording.ongoing ? null : new Date(recording.stop);
      const capped = new Date(begin.getTime() + MAX_DEFAULT_SPAN);
      to.value = end && end <= capped ? toInput(new Date(Math.ceil(end.getTime() / 1000) * 1000)) : recording.ongoing ? "" : toInput(capped);
      section.scrollIntoView({ block: "nearest" });
      return busy(play, start);
    },
    /** Play `recording` from the instant `startIso` up to `stopIso` (at most an hour). */
    playAt(recording, startIso, stopIso) {
      state.recording = recording;
      form.hidden = false;
      const begin = new Date(startIso);
      from.value = toInput(begin);
      const end = Math.min(Math.ceil(Date.parse(stopIso) / 1000) * 1000, begin.getTime() + MAX_DEFAULT_SPAN);
      to.value = toInput(new Date(end));
      section.scrollIntoView({ block: "nearest" });
      return busy(play, start);
    },
    /** Call `listener(date)` with the instant shown as the video plays. */
    onTime(listener) {
      listeners.push(listener);
    },
    range() {
      return { from: from.value, to: to.value };
    },
  };
}

// -- export -----------------------------------------------------------------------------------
function exportsCard(app) {
  const area = messageArea();
  const list = h("ul", { class: "export-jobs", id: "export-jobs" });
  const empty = h("p", { class: "muted", text: "No exports yet. Choose Export on a recording." });
  const rows = new Map();

  function render(job) {
    let row = rows.get(job.jobId);
    if (!row) {
      const bar = h("progress", { max: "100", value: "0", "aria-label": `Export ${job.fileName}` });
      const status = h("span", { class: "muted" });
      const actions = h("span", { class: "row-actions" });
      row = { element: h("li", { "data-job": String(job.jobId) }, h("strong", { text: job.fileName }), " ", bar, " ", status, actions), bar, status, actions, done: false };
      rows.set(job.jobId, row);
      list.prepend(row.element);
    }
    empty.hidden = true;
    row.bar.value = job.progress;
    const ready = job.destination === "usb" ? `On the USB drive, ${size(job.size)}` : `Ready, ${size(job.size)}`;
    const words = { running: `${job.progress} %`, done: ready, failed: `Failed: ${job.error?.message || ""}`, cancelled: "Cancelled" };
    row.status.textContent = words[job.status] || job.status;
    if (job.status !== "running" && !row.done) {
      row.done = true;
      clear(row.actions);
      if (job.status === "done" && job.destination !== "usb") {
        row.actions.append(
          h("a", { class: "button-link", href: `/axis-cgi/record/export/download.cgi?jobid=${job.jobId}`, download: job.fileName, text: "Download" }),
        );
      }
    }
    if (!row.actions.querySelector("button")) {
      const remove = h("button", { type: "button", class: "danger-text" }, job.status === "running" ? "Cancel" : "Remove");
      remove.addEventListener("click", async () => {
        try {
          await busy(remove, () => jobs("removeExport", { jobId: job.jobId }));
          row.element.remove();
          rows.delete(job.jobId);
          empty.hidden = rows.size > 0;
        } catch (error) {
          app.fail(error, area);
        }
      });
      row.actions.append(remove);
    } else if (job.status !== "running") {
      row.actions.querySelector("button").textContent = "Remove";
    }
  }

  async function follow(job) {
    render(job);
    if (job.destination === "usb") usb.refresh();
    while (job.status === "running" && rows.has(job.jobId)) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      try {
        job = (await jobs("getExport", { jobId: job.jobId })).job;
      } catch (error) {
        app.fail(error, area);
        return;
      }
      if (rows.has(job.jobId)) render(job);
    }
    if (job.destination === "usb") usb.refresh();
  }

  const usb = usbDrive(app, area);
  const section = card("Exports", h("p", { class: "muted", text: "Exports are kept on the device for an hour." }), usb.element, area, empty, list);
  section.id = "exports-card";
  jobs("listExports")
    .then((data) => data.jobs.sort((a, b) => a.jobId - b.jobId).forEach((job) => follow(job)))
    .catch((error) => app.fail(error, area));
  return { element: section, follow };
}

/** The USB drive line of the Exports card: the drive in the port, its free space, safe eject. */
function usbDrive(app, area) {
  const status = h("span", { id: "usb-status", text: "USB drive: looking…" });
  const eject = h("button", { type: "button", id: "usb-eject", hidden: true }, "Eject");
  const element = h("p", { class: "usb-drive" }, status, " ", eject);
  let timer = null;

  function show(data) {
    const drive = data.drive;
    if (!drive) {
      status.textContent = data.unavailable ? `USB drive: ${data.unavailable}` : "USB drive: none. Insert one to export to it.";
    } else if (drive.state === "ejected") {
      status.textContent = `USB drive ${drive.label}: ejected, you can pull it out.`;
    } else {
      const protect = drive.state === "read-only" ? ", read-only" : "";
      const writing = data.exporting ? ", an export is being written to it" : "";
      status.textContent = `USB drive ${drive.label}: ${size(drive.free)} free of ${size(drive.capacity)}${protect}${writing}.`;
    }
    eject.hidden = !drive || drive.state === "ejected";
  }

  async function refresh() {
    clearTimeout(timer);
    try {
      show(await jobs("getUsbDrive"));
    } catch (error) {
      status.textContent = `USB drive: ${error.message}`;
    }
    if (element.isConnected || !timer) timer = setTimeout(refresh, 3000);
  }

  eject.addEventListener("click", async () => {
    try {
      show(await busy(eject, () => jobs("ejectUsbDrive")));
      say(area, "success", "The USB drive is ejected: you can pull it out.");
    } catch (error) {
      app.fail(error, area);
    }
  });
  refresh();
  return { element, refresh };
}

async function exportDialog(app, recording, range, exports) {
  const from = timeInput("export-from");
  const to = timeInput("export-to");
  from.value = range.from || toInput(new Date(recording.start));
  to.value = range.to || (recording.ongoing ? "" : toInput(new Date(Math.ceil(new Date(recording.stop).getTime() / 1000) * 1000)));
  const format = h("select", { name: "format", id: uid("format") }, FORMATS.map(([value, label]) => h("option", { value, text: label })));
  const destination = h("select", { name: "destination", id: uid("destination") }, DESTINATIONS.map(([value, label]) => h("option", { value, text: label })));
  const encrypt = h("input", { type: "checkbox", name: "encrypt", id: uid("encrypt") });
  const password = h("input", { type: "password", name: "export-password", autocomplete: "new-password", maxlength: "512" });
  const repeat = h("input", { type: "password", name: "export-repeat", autocomplete: "new-password", maxlength: "512" });
  const secret = h(
    "div",
    { hidden: true },
    field("Password", password, "8 to 512 characters. Without it the file cannot be opened."),
    field("Repeat password", repeat),
    h("p", { class: "hint", text: "Open the file with: openssl enc -d -aes-256-ctr -pbkdf2 -iter 100000 -in FILE.enc -out FILE" }),
  );
  encrypt.addEventListener("change", () => {
    secret.hidden = !encrypt.checked;
  });
  const area = messageArea();
  const content = h(
    "div",
    { class: "stack" },
    h("p", { class: "muted", text: `${recording.source}, recorded from ${localTime(recording.start)}.` }),
    field("From", from),
    field("To", to, recording.ongoing ? "Leave empty to export up to now." : "Leave empty to export to the end."),
    field("Format", format, "MP4 starts at exactly the chosen frame; Matroska at the key frame before it."),
    field("Destination", destination, "The device keeps an export for an hour to download; on the USB drive it stays."),
    h("div", { class: "check" }, encrypt, h("label", { for: encrypt.id, text: "Encrypt" })),
    secret,
    area,
  );
  const onSubmit = async () => {
    const params = { recordingId: recording.id, format: format.value, destination: destination.value };
    try {
      const startTime = fromInput(from, "From");
      const stopTime = fromInput(to, "To");
      if (startTime) params.startTime = startTime;
      if (stopTime) params.stopTime = stopTime;
    } catch (error) {
      say(area, "error", error.message);
      return false;
    }
    if (encrypt.checked) {
      const bytes = new TextEncoder().encode(password.value).length;
      if (bytes < 8 || bytes > 512) {
        password.setAttribute("aria-invalid", "true");
        say(area, "error", "The password must be 8 to 512 characters long.");
        return false;
      }
      if (repeat.value !== password.value) {
        repeat.setAttribute("aria-invalid", "true");
        say(area, "error", "The passwords do not match.");
        return false;
      }
      params.password = password.value;
      params.encryptionFormat = ENCRYPTION;
    }
    try {
      const data = await jobs("startExport", params);
      exports.follow(data.job);
    } catch (error) {
      app.fail(error, area);
      return false;
    }
    return true;
  };
  await modal({
    title: "Export recording",
    content,
    onSubmit,
    buttons: [
      { label: "Cancel", value: "cancel" },
      { label: "Export", value: "export", class: "primary" },
    ],
  });
}

// -- the list -------------------------------------------------------------------------------------
function filterForm(onFilter) {
  const source = h("select", { name: "source", id: "filter-source" }, h("option", { value: "", text: "All sources" }));
  const from = timeInput("filter-from");
  const to = timeInput("filter-to");
  const type = h("select", { name: "type", id: "filter-type" }, TYPES.map(([value, label]) => h("option", { value, text: label })));
  // Event (what started a recording) and Storage (the volume it is on): the values seen so far.
  const event = h("select", { name: "event", id: "filter-event" }, h("option", { value: "", text: "All events" }));
  const disk = h("select", { name: "diskid", id: "filter-storage" }, h("option", { value: "", text: "All storage" }));
  const apply = h("button", { type: "submit", class: "primary" }, "Filter");
  const reset = h("button", { type: "reset" }, "Reset");
  const form = h(
    "form",
    { class: "inline-form", role: "search", novalidate: true },
    field("Source", source),
    field("From", from),
    field("To", to),
    field("Type", type),
    field("Event", event),
    field("Storage", disk),
    h("div", { class: "actions" }, apply, reset),
  );
  const read = () => ({
    source: source.value,
    starttime: fromInput(from, "From"),
    stoptime: fromInput(to, "To"),
    recordingtype: type.value,
    event: event.value,
    diskid: disk.value,
  });
  /** Offer the events and volumes of `recordings` not offered yet. */
  const learn = (recordings) => {
    for (const [select, values] of [
      [event, recordings.map((r) => r.event)],
      [disk, recordings.map((r) => r.disk)],
    ]) {
      const known = new Set([...select.options].map((o) => o.value));
      for (const value of new Set(values)) if (value && !known.has(value)) select.append(h("option", { value, text: value }));
    }
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(apply, () => onFilter(read));
  });
  form.addEventListener("reset", () => setTimeout(() => onFilter(read), 0));
  return { form, source, read, learn };
}

export default async function recordingsPage(container, app) {
  const canExport = app.role === "operator" || app.role === "admin";
  const canDelete = app.role === "admin";
  const area = messageArea();
  const body = h("div", { class: "table-wrap" });
  const player = playerCard(app);
  const exports = canExport ? exportsCard(app) : null;
  const filter = filterForm((read) => load(read));

  async function load(read = filter.read) {
    let recordings;
    try {
      recordings = await listRecordings(read());
    } catch (error) {
      app.fail(error, area);
      return;
    }
    say(area, "", "");
    filter.learn(recordings);
    const rows = recordings.map((recording) => {
      const label = `${recording.source} ${localTime(recording.start)}`;
      const play = h("button", { type: "button", "aria-label": `Play ${label}` }, "Play");
      play.addEventListener("click", () => player.open(recording));
      const actions = [play];
      if (canExport) {
        const exportButton = h("button", { type: "button", "aria-label": `Export ${label}` }, "Export");
        exportButton.addEventListener("click", () => exportDialog(app, recording, player.range(), exports));
        actions.push(exportButton);
      }
      if (canDelete) {
        const remove = h("button", { type: "button", class: "danger-text", "aria-label": `Delete ${label}`, disabled: recording.ongoing, title: recording.ongoing ? "Stop the recording before deleting it." : null }, "Delete");
        remove.addEventListener("click", async () => {
          const sure = await confirmAction("Delete recording", `Delete the recording of ${label}? The footage is removed from the disk.`, "Delete");
          if (!sure) return;
          try {
            await busy(remove, () => xml("/axis-cgi/record/remove.cgi", { method: "POST", body: new URLSearchParams({ recordingid: recording.id }) }));
          } catch (error) {
            app.fail(error, area);
            return;
          }
          say(area, "ok", `The recording of ${label} was deleted.`);
          load();
        });
        actions.push(remove);
      }
      return h(
        "tr",
        { "data-recording": recording.id },
        h("th", { scope: "row" }, h("time", { datetime: recording.start, text: localTime(recording.start) })),
        h("td", {}, recording.ongoing ? h("span", { class: "pill on", text: "Recording" }) : h("time", { datetime: recording.stop, text: localTime(recording.stop) })),
        h("td", { text: recording.source }),
        h("td", { text: recording.type }),
        h("td", { text: recording.event }),
        h("td", { text: recording.disk }),
        h("td", { text: size(recording.size) }),
        h("td", { class: "row-actions" }, actions),
      );
    });
    clear(
      body,
      recordings.length
        ? h(
            "table",
            { id: "recordings-table" },
            h("caption", { text: `${recordings.length} recording${recordings.length === 1 ? "" : "s"}, newest first. Times in your time zone.` }),
            h("thead", {}, h("tr", {}, ["Start", "Stop", "Source", "Type", "Event", "Storage", "Size", "Actions"].map((t) => h("th", { scope: "col", text: t })))),
            h("tbody", {}, rows),
          )
        : h("p", { class: "muted", text: "No recordings match the filter." }),
    );
  }

  const refresh = h("button", { type: "button" }, "Refresh");
  refresh.addEventListener("click", () => busy(refresh, () => load()));
  const listCard = card("Recordings", filter.form, area, body);
  listCard.querySelector("h2").after(h("div", { class: "card-tools" }, refresh));
  const timeline = timelineCard(app, player);
  container.append(listCard, timeline.element, player.element);
  if (exports) container.append(exports.element);
  recorder("listSources")
    .then((data) => {
      for (const s of data.sources) filter.source.append(h("option", { value: s.id, text: s.name ? `${s.name} (${s.id})` : s.id }));
      return timeline.setSources(data.sources);
    })
    .catch((error) => app.fail(error, area));
  await load();
}

/** The Status page's "Ongoing recordings" card; it hides itself on devices that do not record. */
export function ongoingCard(app) {
  const body = h("div");
  const area = messageArea();
  const section = card("Ongoing recordings", area, body);
  section.id = "ongoing-recordings";
  section.hidden = true;
  recorder("getStatus")
    .then((status) => {
      section.hidden = false;
      if (!status.ongoing.length) {
        clear(body, h("p", { class: "muted", text: "Nothing is being recorded." }));
      } else {
        clear(
          body,
          h(
            "table",
            {},
            h("caption", { class: "visually-hidden", text: "Recordings being written" }),
            h("thead", {}, h("tr", {}, ["Source", "Type", "Recording"].map((t) => h("th", { scope: "col", text: t })))),
            h("tbody", {}, status.ongoing.map((o) => h("tr", {}, h("td", { text: o.source }), h("td", { text: o.type }), h("td", { text: o.recordingId })))),
          ),
        );
      }
      body.append(
        h("p", { class: "muted" }, `Recordings use ${size(status.usedBytes)} of storage. `, h("a", { href: "#/recordings", text: "All recordings" })),
      );
    })
    .catch((error) => {
      if (error.status === 401) app.fail(error, area);
      // other failures: the device has no recorder (the card stays hidden)
    });
  return section;
}
