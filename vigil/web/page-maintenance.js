// Maintenance: restart, restore, factory default, the software upgrade (maintenance-firmware.js),
// the server and crash reports, and troubleshooting (maintenance-troubleshoot.js).

import * as api from "./api.js";
import { firmwareCard } from "./maintenance-firmware.js";
import { crashReport, troubleshootCard } from "./maintenance-troubleshoot.js";
import { busy, card, confirmAction, download, h, messageArea, modal } from "./ui.js";

const ACTIONS = [
  {
    cgi: "restart.cgi",
    label: "Restart",
    text: "Restart the device. This does not affect any of the current settings.",
    confirm: "Restart the device now? It is unavailable until it has started again.",
    waiting: "Restarting. This page continues when the device is back.",
    danger: false,
  },
  {
    cgi: "factorydefault.cgi",
    label: "Restore",
    text:
      "Return most settings to the factory default values. Kept: boot protocol, static IP address, default " +
      "router, subnet mask, DNS servers and 802.1X settings. Accounts are removed.",
    confirm:
      "Restore the factory default settings? Accounts and most settings are lost; network settings are kept. " +
      "This cannot be undone.",
    waiting: "Restoring settings and restarting. You must create an administrator account afterwards.",
    danger: true,
  },
  {
    cgi: "hardfactorydefault.cgi",
    label: "Factory default",
    text: "Return all settings to the factory default values, including the network settings and certificates.",
    confirm:
      "Reset the device to factory default? All settings and accounts are lost, and you may have to set the " +
      "IP address again to reach the device. This cannot be undone.",
    waiting: "Resetting to factory default and restarting.",
    danger: true,
  },
];

export default async function maintenancePage(container, app) {
  const area = messageArea();
  const rows = ACTIONS.map((action) => {
    const headingId = `maint-${action.cgi.replace(".cgi", "")}`;
    const button = h(
      "button",
      { type: "button", class: action.danger ? "danger" : "", "aria-describedby": `${headingId}-text` },
      action.label,
    );
    button.addEventListener("click", async () => {
      if (!(await confirmAction(action.label, action.confirm, action.label, action.danger))) return;
      try {
        await busy(button, () => api.maintenance(action.cgi));
      } catch (error) {
        app.fail(error, area);
        return;
      }
      container.querySelectorAll("button").forEach((b) => {
        b.disabled = true;
      });
      app.waitForRestart(area, action.waiting);
    });
    return h(
      "div",
      { class: "action-row" },
      h("div", {}, h("h3", { id: headingId, text: action.label }), h("p", { id: `${headingId}-text`, class: "muted", text: action.text })),
      button,
    );
  });

  const reportArea = messageArea();
  const view = h("button", { type: "button" }, "View server report");
  const save = h("button", { type: "button" }, "Download server report");
  view.addEventListener("click", async () => {
    let text;
    try {
      text = await busy(view, api.serverReportText);
    } catch (error) {
      app.fail(error, reportArea);
      return;
    }
    await modal({
      title: "Server report",
      wide: true,
      content: h("pre", { class: "log report", tabindex: "0", id: "server-report", text }),
      buttons: [{ label: "Close", value: "close", class: "primary" }],
    });
  });
  save.addEventListener("click", async () => {
    try {
      const { blob, filename } = await busy(save, api.serverReportZip);
      download(blob, filename);
    } catch (error) {
      app.fail(error, reportArea);
    }
  });
  const crash = h("button", { type: "button" }, "Download crash report");
  crash.addEventListener("click", async () => {
    try {
      const { blob, filename } = await busy(crash, crashReport);
      download(blob, filename);
    } catch (error) {
      app.fail(error, reportArea);
    }
  });

  container.append(
    card("Restart and reset", area, rows),
    await firmwareCard(app),
    card(
      "Server report",
      h("p", {
        class: "muted",
        text: "Product information, every parameter and the logs. Always include the report when you contact support.",
      }),
      h("p", {
        class: "muted",
        text: "The crash report also holds the last network trace, which might contain sensitive information such as passwords.",
      }),
      h("div", { class: "actions" }, view, save, crash),
      reportArea,
    ),
    troubleshootCard(app),
  );
}
