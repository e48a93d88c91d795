// Speaker test (Audio > Speaker test in the C1410 manual), through the VAPIX Auto speaker test
// service (/vapix/axast, administrators): calibrate (test tones recorded by the built-in microphone
// as the reference), run the test (the same tones compared with it), the report. The Status page
// shows the same report and Locate device (/vigil/audio/locate: a sound to find the speaker by).

import * as api from "./api.js";
import { busy, card, facts, h, localTime, messageArea, say } from "./ui.js";

const STATUS = {
  OK: "Passed the test",
  Failed: "Didn't pass the test",
  Calibrated: "Calibrated, not tested yet",
  Pending: "Running…",
  Uncalibrated: "Not calibrated",
  DisabledInHardware: "The microphone is off",
  InternalError: "Failed to run (see the system log)",
};

async function axast(command) {
  const response = await api.request("/vapix/axast", {
    method: "POST",
    body: JSON.stringify({ [`axast:${command}`]: {} }),
    headers: { "Content-Type": "application/json" },
    allow: [400],
  });
  const reply = await response.json();
  if (response.status === 400) throw new api.ApiError(reply.FaultReason || "The device refused.", 400);
  return reply;
}

const report = async () => (await axast("GetSpeakerTestReport")).SpeakerTestReport;

function reportFacts(r) {
  const when = (iso) => (iso ? h("time", { datetime: iso, text: localTime(iso) }) : "Never");
  return facts([
    ["Status", h("span", { id: "speaker-test-status", text: STATUS[r.SpeakerTestStatus] || r.SpeakerTestStatus })],
    ["Calibrated", when(r.CalibrationTimestamp)],
    ["Last test", when(r.TestTimestamp)],
  ]);
}

/** Poll the report until nothing runs; returns the last one. */
async function settled(show) {
  for (;;) {
    const r = await report();
    show(r);
    if (r.SpeakerTestStatus !== "Pending") return r;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

export default async function speakerTestPage(container, app) {
  const body = h("div", {}, reportFacts(await report()));
  const show = (r) => body.replaceChildren(reportFacts(r));
  const area = messageArea();
  const calibrate = h("button", { type: "button", id: "speaker-calibrate" }, "Calibrate");
  const run = h("button", { type: "button", class: "primary", id: "speaker-run" }, "Run the test");
  const act = (button, command, done) => button.addEventListener("click", () => busy(button, async () => {
    try {
      say(area, "", "");
      await axast(command);
      const r = await settled(show);
      say(area, r.SpeakerTestStatus === "Failed" || r.SpeakerTestStatus === "InternalError" ? "error" : "ok", done(r));
    } catch (error) {
      app.fail(error, area);
    }
  }));
  act(calibrate, "CalibrateSpeakerTest", (r) => (r.SpeakerTestStatus === "Calibrated" ? "Calibrated: the test can be run at any time." : "The calibration did not succeed: the microphone did not hear the test tones."));
  act(run, "PerformSpeakerTest", (r) => `Test finished: ${STATUS[r.SpeakerTestStatus] || r.SpeakerTestStatus}.`);
  container.append(card(
    "Speaker test",
    h("p", { class: "muted", text: "Calibrate the speaker before its first test, in its final position: it plays a series of test tones that the built-in microphone registers. Calibrate again if you move the speaker or its surroundings change." }),
    body,
    area,
    h("div", { class: "actions" }, calibrate, run),
  ));
}

/** The Status page's card: whether the speaker is calibrated, the last result, a link. */
export function speakerTestCard(app) {
  const body = h("div", {}, h("p", { class: "muted", text: "Loading…" }));
  report().then((r) => body.replaceChildren(reportFacts(r)), (error) => app.fail(error, body));
  return card("Speaker test", body, h("p", {}, h("a", { href: "#/speaker-test", text: "Speaker test" })));
}

/** The Status page's Locate device: a sound that helps someone on site find the speaker. */
export function locateCard(app) {
  const area = messageArea();
  const button = h("button", { type: "button", id: "locate-button" }, "Locate device");
  button.addEventListener("click", () => busy(button, async () => {
    try {
      const on = button.dataset.active === "yes";
      const response = await api.request("/vigil/audio/locate", {
        method: "POST",
        body: JSON.stringify(on ? { stop: true } : { seconds: 30 }),
        headers: { "Content-Type": "application/json" },
      });
      const state = await response.json();
      button.dataset.active = state.active ? "yes" : "no";
      button.textContent = state.active ? "Stop locating" : "Locate device";
      say(area, "ok", state.active ? "The speaker plays a locating sound for 30 seconds." : "Stopped.");
    } catch (error) {
      app.fail(error, area);
    }
  }));
  return card("Locate device", h("p", { class: "muted", text: "Plays a sound that helps you identify the speaker." }), h("div", { class: "actions" }, button), area);
}
