// System > Power settings (W401): Delayed shutdown on or off and its delay (1-60 minutes), the
// ignition and what Delayed shutdown will do now (armed, waiting, shutting down in ...). Settings
// through param.cgi, the state from /vigil/power, kept live by the power events; the time left to a
// shutdown counts down each second.

import * as api from "./api.js";
import { RANK, card, checkbox, clear, facts, field, h, invalid, messageArea, numberInput, say } from "./ui.js";

const STATUS = "/vigil/power";
const ENABLED = "PowerSettings.DelayedShutdown.Enabled";
const DELAY = "PowerSettings.DelayedShutdown.Delay";
const TOPICS = ["tns1:Device/tnsaxis:Power/Ignition", "tns1:Device/tnsaxis:Power/DelayedShutdown"];

function describe(status) {
  if (!status.enabled) return "Delayed shutdown is off: the device keeps running when the ignition goes off.";
  if (status.shutdownPending) {
    const minutes = Math.floor(status.secondsLeft / 60);
    const seconds = status.secondsLeft % 60;
    return `The ignition is off: the device shuts down in ${minutes} min ${seconds} s unless the ignition comes on.`;
  }
  if (status.waitingForIgnition) return "The device started with the ignition off after a delayed shutdown: Delayed shutdown waits for the ignition to come on.";
  if (!status.armed) return "The device was without power before it started: Delayed shutdown is armed after a short delay.";
  return `Armed: the device shuts down ${status.delayMinutes} min after the ignition goes off.`;
}

export default async function powerPage(container, app) {
  const admin = RANK[app.role] >= RANK.admin;
  const area = messageArea();
  const state = h("div", { id: "power-state" });
  container.append(
    card(
      "Delayed shutdown",
      h("p", {
        class: "muted",
        text: "Only turn on Delayed shutdown when the ignition is physically connected to the main unit (the 3-pin terminal block), to avoid unwanted shutdowns.",
      }),
      area,
      state,
    ),
  );

  let last = null; // the status last read, and when: the time left counts down from it each second
  function renderState(status) {
    last = { status, at: Date.now() };
    show(status);
  }

  function show(status) {
    clear(
      state,
      facts([
        ["Ignition", h("span", { class: status.ignition ? "pill on" : "pill off", id: "power-ignition", text: status.ignition ? "On" : "Off" })],
        ["Now", h("span", { id: "power-now", text: describe(status) })],
      ]),
    );
  }

  const status = await (await api.request(STATUS)).json();
  renderState(status);
  if (admin) {
    const enabled = checkbox("Delayed shutdown", status.enabled, "Keep running for the delay after the ignition goes off, then shut down.");
    const delay = numberInput(status.delayMinutes, 1, 60);
    const save = h("button", { type: "submit", class: "primary" }, "Save");
    const form = h("form", { id: "power-form", novalidate: true }, enabled.element, field("Delay time (minutes)", delay, "1 to 60 minutes."), save);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const minutes = Number(delay.value);
        if (!/^\d+$/.test(delay.value) || minutes < 1 || minutes > 60) throw invalid(delay, "The delay is a whole number of minutes from 1 to 60.");
        delay.removeAttribute("aria-invalid");
        await api.updateParams({ [ENABLED]: enabled.box.checked ? "yes" : "no", [DELAY]: String(minutes) });
        say(area, "ok", "Power settings saved.");
        await refresh();
      } catch (error) {
        if (error.control) {
          error.control.setAttribute("aria-invalid", "true");
          error.control.focus();
          say(area, "error", error.message);
        } else {
          app.fail(error, area);
        }
      }
    });
    container.firstElementChild.append(form);
  } else {
    container.firstElementChild.append(facts([["Delayed shutdown", status.enabled ? `On, ${status.delayMinutes} min` : "Off"]]));
  }

  async function refresh() {
    try {
      renderState(await (await api.request(STATUS)).json());
    } catch (error) {
      app.fail(error, area);
    }
  }

  let pending = null;
  const stream = api.eventStream(TOPICS, {
    onEvent() {
      clearTimeout(pending);
      pending = setTimeout(refresh, 100);
    },
  });
  const ticker = setInterval(refresh, 5000); // what the device says, now and then
  const countdown = setInterval(() => {
    if (!last?.status.shutdownPending) return;
    const elapsed = Math.floor((Date.now() - last.at) / 1000);
    show({ ...last.status, secondsLeft: Math.max(0, last.status.secondsLeft - elapsed) });
  }, 1000);
  api.whenGone(container, () => {
    stream.close();
    clearTimeout(pending);
    clearInterval(ticker);
    clearInterval(countdown);
  });
}
