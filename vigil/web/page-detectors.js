// Detectors (Detectors > Audio detection in the C1410 manual): the sound level (0-100) above which
// the input triggers the Audio detection event, with the activity indicator as a guide: the
// input's live level from /vigil/audio/detection, refreshed while the page is shown. The level is
// the parameter AudioSource.A0.AlarmLevel (operators and administrators).

import * as api from "./api.js";
import { busy, card, field, h, messageArea, say } from "./ui.js";

const PARAM = "AudioSource.A0.AlarmLevel";

export default async function detectorsPage(container, app) {
  const values = await api.listParams([PARAM]);
  const slider = h("input", { type: "range", id: "detection-level", min: "0", max: "100", step: "1", value: values[PARAM] || "50" });
  const shown = h("output", { for: "detection-level", id: "detection-level-value", text: slider.value });
  slider.addEventListener("input", () => {
    shown.textContent = slider.value;
  });
  const meter = h("meter", { id: "detection-activity", min: "0", max: "100", value: "0", "aria-label": "Activity" });
  const activity = h("output", { id: "detection-activity-text", text: "—" });
  const area = messageArea();
  const save = h("button", { type: "submit", class: "primary", id: "detection-save" }, "Save");
  const form = h(
    "form",
    { id: "detection-form" },
    card(
      "Audio detection",
      h("p", { class: "muted", text: "0 is the most sensitive, 100 the least. When you create rules, use Audio detection as a condition: the sound level rises above, falls below or passes the set value." }),
      field("Sound level", h("div", { class: "inline-form" }, slider, shown)),
      field("Activity", h("div", { class: "inline-form" }, meter, activity), "The input's level now, as a guide for the sound level."),
      area,
      h("div", { class: "actions" }, save),
    ),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    await busy(save, async () => {
      try {
        await api.updateParams({ [`root.${PARAM}`]: slider.value });
        say(area, "ok", `Saved. Audio detection triggers above ${slider.value}.`);
      } catch (error) {
        app.fail(error, area);
      }
    });
  });
  container.append(form);

  let polling = true;
  const poll = async () => {
    while (polling) {
      try {
        const status = await (await api.request("/vigil/audio/detection")).json();
        if (!status.inputEnabled || status.level === null) {
          meter.value = 0;
          activity.textContent = status.inputEnabled ? "Waiting for the input" : "The audio input is turned off (Audio > Device settings)";
        } else {
          meter.value = status.level;
          activity.textContent = `${status.level}${status.triggered ? " (above the sound level)" : ""}`;
        }
      } catch (error) {
        if (error instanceof api.ApiError && error.status === 401) {
          app.fail(error);
          return;
        }
        activity.textContent = error.message;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };
  poll();
  api.whenGone(form, () => {
    polling = false;
  });
}
