// Maintenance > Software upgrade: the software the device runs and the one it can roll back to,
// the trial state (not committed yet, time left before the automatic rollback, the last
// rollback and why), commit and roll back, and the upgrade itself with its upload progress.
// Everything goes through firmwaremanagement.cgi (vapix.md §8), as an integrator's tool would.

import * as api from "./api.js";
import { busy, card, confirmAction, facts, field, h, messageArea, numberInput, say, select } from "./ui.js";

const FWMGR = "/axis-cgi/firmwaremanagement.cgi";
const call = (method, params) => api.jsonApi(FWMGR, "1.0", method, params);

const COMMIT_CHOICES = [
  ["default", "Default (once started, or at boot with a factory default)"],
  ["started", "Once the device has started and is healthy"],
  ["boot", "As soon as it boots"],
  ["never", "Never: I commit by hand"],
];
const RESET_CHOICES = [
  ["none", "Keep the settings"],
  ["soft", "Restore settings (keep network settings)"],
  ["hard", "Factory default (needed to install an older version)"],
];

function minutes(seconds) {
  return seconds < 90 ? `${seconds} s` : `${Math.round(seconds / 60)} min`;
}

function stateText(status) {
  if (status.isCommited === false) {
    const auto = status.pendingCommit ? "; it is committed automatically once started" : "";
    const timer = status.timeToRollback !== undefined ? `; rolls back in ${minutes(status.timeToRollback)}` : "";
    return `Not committed: on trial${auto}${timer}`;
  }
  return "Committed";
}

/** Upload `file` with the upgrade's `params`; `onProgress(fraction)` while it is sent. */
function upload(file, params, onProgress) {
  const form = new FormData();
  const body = { apiVersion: "1.0", context: "web", method: "upgrade", params };
  form.append("json", new Blob([JSON.stringify(body)], { type: "application/json" }));
  form.append("file", file, file.name);
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", FWMGR);
    xhr.setRequestHeader("X-Requested-With", "vigil");
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status !== 200) {
        reject(new api.ApiError(`The device answered ${xhr.status}: ${xhr.responseText.trim().slice(0, 200)}`, xhr.status));
        return;
      }
      let reply;
      try {
        reply = JSON.parse(xhr.responseText);
      } catch {
        reject(new api.ApiError("The device's answer is not JSON."));
        return;
      }
      if (reply.error) reject(new api.ApiError(`${reply.error.message} (error ${reply.error.code})`));
      else resolve(reply.data);
    });
    xhr.addEventListener("error", () => reject(new api.ApiError("The upload was cut off. Check the connection and try again.")));
    xhr.send(form);
  });
}

export async function firmwareCard(app) {
  const area = messageArea();
  const summary = h("div", { id: "firmware-status" });
  const commit = h("button", { type: "button", id: "firmware-commit" }, "Commit");
  const rollback = h("button", { type: "button", id: "firmware-rollback", class: "danger" }, "Roll back");
  const controls = h("div", { class: "actions" }, commit, rollback);

  async function refresh() {
    let status;
    try {
      status = await call("status");
    } catch (error) {
      app.fail(error, area);
      return;
    }
    const rows = [
      ["Running version", status.activeFirmwareVersion],
      ["State", stateText(status)],
    ];
    if (status.inactiveFirmwareVersion) rows.push(["Previous version (rollback)", status.inactiveFirmwareVersion]);
    if (status.lastUpgradeAt) rows.push(["Last upgrade", status.lastUpgradeAt]);
    if (status.lastRollback) {
      const last = status.lastRollback;
      rows.push(["Last rollback", `${last.at}: from ${last.from} to ${last.to}, because ${last.reason}`]);
    }
    summary.replaceChildren(facts(rows));
    commit.hidden = status.isCommited !== false;
    rollback.hidden = !status.inactiveFirmwareVersion;
  }

  commit.addEventListener("click", async () => {
    try {
      const done = await busy(commit, () => call("commit"));
      say(area, "success", `Version ${done.firmwareVersion} is committed: it stays after a restart.`);
    } catch (error) {
      app.fail(error, area);
    }
    await refresh();
  });
  rollback.addEventListener("click", async () => {
    const text = "Go back to the previous software version? The device restarts.";
    if (!(await confirmAction("Roll back", text, "Roll back", true))) return;
    try {
      await busy(rollback, () => call("rollback"));
    } catch (error) {
      app.fail(error, area);
      return;
    }
    app.waitForRestart(area, "Rolling back and restarting. This page continues when the device is back.");
  });

  const file = h("input", { type: "file", id: "firmware-file", accept: ".tar.gz,.tgz,.bin" });
  const autoCommit = select({ id: "firmware-autocommit" }, COMMIT_CHOICES);
  const rollbackMinutes = numberInput("", 1, 100000);
  rollbackMinutes.id = "firmware-rollback-minutes";
  rollbackMinutes.placeholder = "default (10 with the default commit)";
  const reset = select({ id: "firmware-reset" }, RESET_CHOICES);
  const progress = h("progress", { id: "firmware-progress", max: "1", value: "0", hidden: true });
  const start = h("button", { type: "submit", class: "primary" }, "Upgrade");
  const form = h(
    "form",
    { novalidate: true, "aria-label": "Software upgrade" },
    field("Release package", file, "A signed Vigil release (vigil package)."),
    field("Commit", autoCommit),
    field("Automatic rollback after (minutes)", rollbackMinutes, "Empty: 10 minutes with the default commit, else no timer."),
    field("Settings", reset),
    h("div", { class: "actions" }, start),
    progress,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = file.files[0];
    if (!chosen) {
      say(area, "error", "Choose the release package to install.");
      file.focus();
      return;
    }
    const params = { autoCommit: autoCommit.value, factoryDefaultMode: reset.value };
    params.autoRollback = rollbackMinutes.value.trim() ? rollbackMinutes.value.trim() : "default";
    progress.hidden = false;
    progress.value = 0;
    say(area, "info", "Uploading the release…");
    let done;
    try {
      done = await busy(start, () =>
        upload(chosen, params, (fraction) => {
          progress.value = fraction;
          if (fraction >= 1) say(area, "info", "Verifying and installing the release…");
        }),
      );
    } catch (error) {
      progress.hidden = true;
      app.fail(error, area);
      return;
    }
    app.waitForRestart(area, `Version ${done.firmwareVersion} is installed. Restarting into it; this page continues when the device is back.`);
  });

  await refresh();
  return card(
    "Software upgrade",
    h("p", {
      class: "muted",
      text:
        "The new version is installed beside the running one and tried: unless it is committed, the device goes back to " +
        "the previous version by itself (after the rollback time, or at once when it fails to start). Settings and " +
        "recordings are kept.",
    }),
    summary,
    controls,
    form,
    area,
  );
}
