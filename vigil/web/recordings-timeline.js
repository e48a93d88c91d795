// The Recordings page's timeline: one camera's day (/vigil/timeline: its footage as spans, the gaps
// between them, and the events that triggered recordings). Clicking the bar plays from that instant;
// dragging along it (or the arrow keys on it) scrubs, and letting go plays from there. The cursor
// follows the player.

import * as api from "./api.js";
import { busy, card, clear, field, h, messageArea, pad, say, uid } from "./ui.js";

const DAY = 86400 * 1000;
const TYPES = { continuous: "Continuous", triggered: "Triggered", manual: "Manual" };

function dayInput() {
  const now = new Date();
  const input = h("input", { type: "date", name: "timeline-day", id: uid("timeline-day") });
  input.value = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
  return input;
}

function clockText(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

async function fetchTimeline(source, from, to) {
  const query = new URLSearchParams({ source, starttime: new Date(from).toISOString(), stoptime: new Date(to).toISOString() });
  const response = await api.request(`/vigil/timeline?${query}`, { allow: [400, 404] });
  const body = await response.json();
  if (body.error) throw new api.ApiError(body.error.message, response.status);
  return body;
}

/** The timeline card. `player.playAt(recording, iso, stopIso)` plays; `player.onTime(cb)` tells
 * where it is. Returns { element, setSources(sources) }. */
export function timelineCard(app, player) {
  const area = messageArea();
  const camera = h("select", { name: "timeline-source", id: uid("timeline-source") });
  const day = dayInput();
  const show = h("button", { type: "submit", class: "primary" }, "Show");
  const form = h("form", { class: "inline-form", novalidate: true }, field("Camera", camera), field("Day", day), h("div", { class: "actions" }, show));
  const bar = h("div", {
    class: "timeline-bar",
    id: "timeline-bar",
    role: "slider",
    tabindex: "0",
    "aria-label": "Timeline: choose a time to play",
    "aria-valuemin": "0",
    "aria-valuemax": "86400",
    "aria-valuenow": "0",
  });
  const cursor = h("div", { class: "timeline-cursor", hidden: true });
  const scrub = h("div", { class: "timeline-scrub", hidden: true });
  const ticks = h("div", { class: "timeline-ticks", "aria-hidden": "true" });
  const legend = h("p", { class: "muted timeline-legend", id: "timeline-legend" });
  const state = { from: 0, to: 0, spans: [], events: [], source: "", at: null };

  function place(ms) {
    return `${(((ms - state.from) / (state.to - state.from)) * 100).toFixed(3)}%`;
  }

  function render() {
    clear(bar, cursor, scrub);
    for (const [index, span] of state.spans.entries()) {
      const start = Math.max(Date.parse(span.startTime), state.from);
      const stop = Math.min(Date.parse(span.stopTime), state.to);
      const width = ((stop - start) / (state.to - state.from)) * 100;
      bar.append(
        h("div", {
          class: `timeline-span ${span.type}`,
          "data-recording": span.recordingId,
          "data-span": String(index),
          style: `left:${place(start)};width:${Math.max(width, 0.1).toFixed(3)}%`,
          title: `${TYPES[span.type] || span.type} ${clockText(start)} to ${clockText(stop)}${span.event ? `: ${span.event}` : ""}`,
        }),
      );
    }
    for (const event of state.events) {
      const at = Date.parse(event.time);
      bar.append(h("div", { class: "timeline-event", style: `left:${place(at)}`, title: `${clockText(at)} ${event.event || event.topic}`, "data-recording": event.recordingId }));
    }
    clear(ticks, [0, 6, 12, 18, 24].map((hour) => h("span", { style: `left:${(hour / 24) * 100}%`, text: `${pad(hour)}:00` })));
    const gaps = state.spans.length ? "Gaps are times without footage." : "No footage on this day.";
    legend.textContent = `${state.spans.length} span${state.spans.length === 1 ? "" : "s"} of footage, ${state.events.length} event${state.events.length === 1 ? "" : "s"}. ${gaps}`;
  }

  /** The span to play at `ms`: of the recording clicked if it covers it, else a triggered or
   * manual one over a continuous one; null in a gap. */
  function spanAt(ms, recording) {
    const own = state.spans.filter((s) => s.recordingId === recording);
    if (own.length) {
      // A short span is drawn wider than it lasts: a press on it means the span's nearest instant.
      const distance = (s) => Math.max(Date.parse(s.startTime) - ms, ms - Date.parse(s.stopTime), 0);
      return own.reduce((best, s) => (distance(s) < distance(best) ? s : best));
    }
    const covering = state.spans.filter((s) => Date.parse(s.startTime) <= ms && ms < Date.parse(s.stopTime));
    return covering.find((s) => s.type !== "continuous") || covering[0] || null;
  }

  function timeAt(clientX) {
    const box = bar.getBoundingClientRect();
    const share = Math.min(Math.max((clientX - box.left) / box.width, 0), 1);
    return state.from + share * (state.to - state.from);
  }

  function showScrub(ms) {
    scrub.hidden = false;
    scrub.style.left = place(ms);
    scrub.textContent = clockText(ms);
    bar.setAttribute("aria-valuenow", String(Math.round((ms - state.from) / 1000)));
    bar.setAttribute("aria-valuetext", clockText(ms));
  }

  function play(ms, recording = null) {
    const span = spanAt(ms, recording);
    if (span) ms = Math.max(Math.min(ms, Date.parse(span.stopTime) - 1000), Date.parse(span.startTime));
    state.at = ms;
    showScrub(ms);
    if (!span) {
      say(area, "error", `No footage at ${clockText(ms)}: that is a gap.`);
      return;
    }
    say(area, "", "");
    const chosen = { id: span.recordingId, source: state.source, start: span.startTime, stop: span.stopTime, ongoing: false };
    player.playAt(chosen, new Date(ms).toISOString(), span.stopTime);
  }

  let dragging = false;
  let pressed = null; // the span element the pointer went down on
  bar.addEventListener("pointerdown", (event) => {
    if (!state.to) return;
    dragging = true;
    pressed = event.target.classList.contains("timeline-span") ? event.target : null;
    bar.setPointerCapture(event.pointerId);
    showScrub(timeAt(event.clientX));
  });
  bar.addEventListener("pointermove", (event) => {
    if (dragging) showScrub(timeAt(event.clientX));
  });
  bar.addEventListener("pointerup", (event) => {
    if (!dragging) return;
    dragging = false;
    const box = pressed?.getBoundingClientRect();
    if (box && event.clientX >= box.left && event.clientX <= box.right) {
      // On a span (a short one is drawn wider than it lasts): that share of the span.
      const span = state.spans[Number(pressed.dataset.span)];
      if (span) {
        const first = Math.max(Date.parse(span.startTime), state.from);
        const share = (event.clientX - box.left) / box.width;
        play(first + share * (Math.min(Date.parse(span.stopTime), state.to) - first), span.recordingId);
        return;
      }
    }
    play(timeAt(event.clientX), pressed?.dataset.recording);
  });
  bar.addEventListener("keydown", (event) => {
    const step = { ArrowRight: 10e3, ArrowLeft: -10e3, PageUp: 600e3, PageDown: -600e3 }[event.key];
    if (step) {
      event.preventDefault();
      state.at = Math.min(Math.max((state.at ?? state.from) + step, state.from), state.to);
      showScrub(state.at);
    } else if (event.key === "Enter" && state.at !== null) {
      event.preventDefault();
      play(state.at);
    }
  });
  player.onTime((date) => {
    const ms = date.getTime();
    if (ms < state.from || ms > state.to) return;
    cursor.hidden = false;
    cursor.style.left = place(ms);
  });

  async function load() {
    if (!camera.value) {
      say(area, "", "No camera has recordings yet.");
      return;
    }
    const [year, month, date] = day.value.split("-").map(Number);
    if (!year) {
      say(area, "error", "Choose a day.");
      return;
    }
    const from = new Date(year, month - 1, date).getTime();
    try {
      const data = await fetchTimeline(camera.value, from, from + DAY);
      Object.assign(state, { from, to: from + DAY, spans: data.spans, events: data.events, source: camera.value, at: null });
    } catch (error) {
      app.fail(error, area);
      return;
    }
    say(area, "", "");
    render();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(show, load);
  });
  const section = card("Timeline", form, area, h("div", { class: "timeline" }, bar, ticks), legend);
  section.id = "timeline-card";
  return {
    element: section,
    /** The cameras to choose from ({id, name}); shows the first. */
    setSources(sources) {
      clear(camera, sources.map((s) => h("option", { value: s.id, text: s.name ? `${s.name} (${s.id})` : s.id })));
      return load();
    },
  };
}
