// Power over Ethernet (S3008, S3016): the power budget, what the ports reserve and draw, keep
// power during a restart, the allocation policy, and the port list (status, class, allocated and
// consumed power, PoE on/off, "Power and ethernet" or "Power only", friendly name).
// Viewers see it, operators switch ports, administrators choose the allocation policy.

import * as api from "./api.js";
import { RANK, busy, card, clear, facts, h, messageArea, say, select } from "./ui.js";

const PORTS = "/config/rest/poe/v1/ports";
const CODE_CLASS = { 0: "off", 1: "on", 2: "off", 3: "off", 4: "warn", 5: "warn" };
const watts = (w) => (w === null || w === undefined ? "–" : `${Number(w).toFixed(1)} W`);

/** Send one port's change and show the ports as the device answers; a refusal shows its reason
 * and the ports as they are. */
async function changePort(port, data, done, { app, area, render }) {
  try {
    render(await api.configRest(PORTS, { port, ...data }));
    say(area, "ok", done);
  } catch (error) {
    app.fail(error, area);
    render(await api.configRest(PORTS));
  }
}

/** The Status page's card: the budget, the reserved and the consumed power. */
export function poeCard(app) {
  const body = h("div");
  const section = card("Network ports", body);
  section.id = "poe-card";
  section.hidden = true;
  api
    .configRest(PORTS)
    .then(({ totals }) => {
      if (totals.absent) return;
      section.hidden = false;
      clear(
        body,
        facts([
          ["Total power budget", `${totals.budget_w} W`],
          ["Allocated power", h("span", { id: "poe-allocated", text: watts(totals.allocated_w) })],
          ["Power consumption", h("span", { id: "poe-consumption", text: watts(totals.consumption_w) })],
          ["Powered ports", `${totals.powered} of ${totals.ports}`],
        ]),
        h("p", { class: "muted" }, h("a", { href: "#/poe", text: "Network ports settings" })),
      );
    })
    .catch((error) => {
      if (error.status === 401) app.fail(error);
    });
  return section;
}

export default async function poePage(container, app) {
  const operator = RANK[app.role] >= RANK.operator;
  const admin = RANK[app.role] >= RANK.admin;
  const area = messageArea();
  const summary = h("div", { id: "poe-summary" });
  const keep = h("input", { type: "checkbox", role: "switch", id: "poe-keep-power", disabled: !operator });
  const policy = select({ id: "poe-allocation", disabled: !admin }, [
    ["class", "PoE class"],
    ["lldp", "LLDP power request"],
  ]);
  const tbody = h("tbody");
  const table = h(
    "table",
    { id: "poe-ports" },
    h("caption", { class: "visually-hidden", text: "PoE ports" }),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Port", "Status", "Class", "Allocated", "Consumption", "PoE", "Network", "Friendly name"].map((t) =>
          h("th", { scope: "col", text: t }),
        ),
      ),
    ),
    tbody,
  );
  const refresh = h("button", { type: "button" }, "Refresh");
  const section = card(
    "Power over Ethernet",
    h("p", {
      class: "muted",
      text:
        "Each port reserves power for its device, by PoE class or by the power the device requests over LLDP. " +
        "A device is not powered when the reserved total would exceed the power budget.",
    }),
    area,
    summary,
    h(
      "div",
      { class: "form-row" },
      h("label", { for: "poe-keep-power" }, keep, " Keep PoE active during a restart"),
      h("label", { for: "poe-allocation", text: "Allocate power by " }),
      policy,
    ),
    h("div", { class: "table-wrap" }, table),
  );
  section.querySelector("h2").after(h("div", { class: "card-tools" }, refresh));
  container.append(section);

  const change = (port, data, done) => changePort(port, data, done, { app, area, render });

  function row(p) {
    const power = h("input", {
      type: "checkbox",
      role: "switch",
      "aria-label": `Port ${p.port} PoE`,
      disabled: !operator,
    });
    power.checked = p.enabled;
    power.addEventListener("change", () =>
      change(p.port, { enabled: power.checked }, `Port ${p.port} PoE is ${power.checked ? "on" : "off"}.`),
    );
    const network = select({ "aria-label": `Port ${p.port} network`, disabled: !operator }, [
      ["on", "Power and ethernet"],
      ["off", "Power only"],
    ]);
    network.value = p.network ? "on" : "off";
    network.addEventListener("change", () =>
      change(p.port, { network: network.value === "on" }, `Port ${p.port}: ${network.selectedOptions[0].text}.`),
    );
    const name = h("input", { type: "text", maxlength: 64, value: p.name, "aria-label": `Port ${p.port} friendly name`, disabled: !operator });
    name.addEventListener("change", () => change(p.port, { name: name.value }, `Port ${p.port} is named ${name.value || "by its device"}.`));
    return h(
      "tr",
      { "data-port": p.port },
      h("th", { scope: "row", text: String(p.port) }),
      h("td", {}, h("span", { class: `pill ${CODE_CLASS[p.code]}`, text: p.description, title: p.extra })),
      h("td", { text: p.poe_class === null ? "–" : String(p.poe_class) }),
      h("td", { text: watts(p.allocated_w) }),
      h("td", { text: watts(p.consumption_w) }),
      h("td", {}, power),
      h("td", {}, network),
      h("td", {}, name),
    );
  }

  function render(data) {
    const { totals } = data;
    if (totals.absent) {
      say(area, "error", totals.absent);
      return;
    }
    clear(
      summary,
      facts([
        ["Total power budget", `${totals.budget_w} W`],
        ["Allocated power", h("span", { id: "poe-page-allocated", text: watts(totals.allocated_w) })],
        ["Power consumption", watts(totals.consumption_w)],
      ]),
    );
    keep.checked = data.keepPower;
    const editing = tbody.contains(document.activeElement) && document.activeElement.type === "text";
    if (!editing) clear(tbody, data.ports.map(row));
  }

  async function load() {
    render(await api.configRest(PORTS));
    const params = await api.listParams(["PoE.Allocation"]);
    if (params["PoE.Allocation"]) policy.value = params["PoE.Allocation"];
  }

  keep.addEventListener("change", async () => {
    try {
      await api.updateParams({ "PoE.KeepPower": keep.checked ? "yes" : "no" });
      say(area, "ok", keep.checked ? "PoE stays active during a restart." : "A restart cuts PoE.");
    } catch (error) {
      app.fail(error, area);
    }
  });
  policy.addEventListener("change", async () => {
    try {
      await api.updateParams({ "PoE.Allocation": policy.value });
      await load();
      say(area, "ok", `Power is allocated by ${policy.selectedOptions[0].text}.`);
    } catch (error) {
      app.fail(error, area);
    }
  });
  refresh.addEventListener("click", () => busy(refresh, load));
  await load();
  const timer = setInterval(() => load().catch(() => {}), 3000); // the measured draw changes
  api.whenGone(section, () => clearInterval(timer));
}

/** The S4000's Network ports page (its ports give no power): port, PoE, network on/off, status
 * and friendly name, as its manual shows them. */
export async function networkPortsPage(container, app) {
  const operator = RANK[app.role] >= RANK.operator;
  const area = messageArea();
  const tbody = h("tbody");
  const table = h(
    "table",
    { id: "network-ports" },
    h("caption", { class: "visually-hidden", text: "Network ports" }),
    h("thead", {}, h("tr", {}, ["Port", "PoE", "Network", "Status", "Friendly name"].map((t) => h("th", { scope: "col", text: t })))),
    tbody,
  );
  const section = card("Network ports", area, h("div", { class: "table-wrap" }, table));
  container.append(section);

  const change = (port, data, done) => changePort(port, data, done, { app, area, render });

  function row(p, label) {
    const network = h("input", { type: "checkbox", role: "switch", "aria-label": `${label} network`, disabled: !operator });
    network.checked = p.network;
    network.addEventListener("change", () =>
      change(p.port, { network: network.checked }, `${label}: network ${network.checked ? "on" : "off"}.`),
    );
    const name = h("input", { type: "text", maxlength: 64, value: p.name, "aria-label": `${label} friendly name`, disabled: !operator });
    name.addEventListener("change", () => change(p.port, { name: name.value }, `${label} is named ${name.value || "by its device"}.`));
    const connected = p.code !== 0;
    return h(
      "tr",
      { "data-port": p.port },
      h("th", { scope: "row", text: label }),
      h("td", { class: "muted", text: "No PoE", title: "This port gives no power" }),
      h("td", {}, network),
      h("td", {}, h("span", { class: `pill ${connected ? "on" : "off"}`, text: connected ? "Connected" : "Not connected" })),
      h("td", {}, name),
    );
  }

  function render({ ports, totals }) {
    if (totals.absent) {
      say(area, "error", totals.absent);
      return;
    }
    const editing = tbody.contains(document.activeElement) && document.activeElement.type === "text";
    if (!editing) clear(tbody, ports.map((p) => row(p, `${p.port} ${totals.labels[p.port - 1] || ""}`.trim())));
  }

  render(await api.configRest(PORTS));
  const timer = setInterval(() => api.configRest(PORTS).then(render).catch(() => {}), 3000); // links come and go
  api.whenGone(section, () => clearInterval(timer));
}
