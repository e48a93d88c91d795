// Accessories: the I/O ports (portmanagement.cgi getPorts / setPorts, and the Supervised,
// Output.Button and Output.PulseTime parameters through param.cgi), with the current state kept
// live by the event stream. Viewers see the ports, operators use the outputs' buttons (activate /
// deactivate, or a pulse of the port's pulse time), administrators configure the ports.

import beaconCard from "./accessories-beacon.js";
import * as api from "./api.js";
import { RANK, busy, card, clear, h, messageArea, numberInput, say } from "./ui.js";

const PORTS = "/axis-cgi/io/portmanagement.cgi";
const ports = (method, params) => api.jsonApi(PORTS, "1.0", method, params);
const PORT_TOPIC = "tns1:Device/tnsaxis:IO/Port";
const SUPERVISED_TOPIC = "tns1:Device/tnsaxis:IO/SupervisedPort";
const CIRCUIT = { open: "Open circuit", closed: "Closed circuit" };
const other = (circuit) => (circuit === "open" ? "closed" : "open");
const BUTTONS = { actinact: "Activate / deactivate", pulse: "Pulse", none: "No button" };
const MAX_PULSE_MS = 65535;
const param = (port, leaf) => `IOPort.I${port}.${leaf}`;

export default async function accessoriesPage(container, app) {
  const admin = RANK[app.role] >= RANK.admin;
  const operator = RANK[app.role] >= RANK.operator;
  const area = messageArea();
  const live = h("span", { class: "live muted", id: "io-live", text: "Connecting…" });
  const refresh = h("button", { type: "button" }, "Refresh");
  const tbody = h("tbody");
  const table = h(
    "table",
    { id: "io-ports", class: "io-table" },
    h("caption", { class: "visually-hidden", text: "I/O ports" }),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Port", "Name", "Direction", "Normal state", "Supervised", "Output button", "Current state", ""].map((t) =>
          h("th", { scope: "col", text: t }),
        ),
      ),
    ),
    tbody,
  );
  const section = card(
    "I/O ports",
    h("p", {
      class: "muted",
      text:
        "An input or output is active when its current state differs from its normal state. " +
        "Use inputs for door or window contacts and sensors, outputs for relays, lamps and locks.",
    }),
    area,
    h("div", { class: "table-wrap" }, table),
  );
  section.querySelector("h2").after(h("div", { class: "card-tools" }, live, refresh));
  container.append(section);

  /** port id -> {item (getPorts), supervised (bool), tamper: {circuit, tampered} | null, row} */
  const byPort = new Map();

  async function loadAll() {
    const data = await ports("getPorts");
    const items = data.items || [];
    let values = {};
    if (items.length) {
      try {
        values = await api.listParams(
          items.flatMap((i) => ["Input.Supervised", "Output.Button", "Output.PulseTime"].map((leaf) => param(i.port, leaf))),
        );
      } catch {
        values = {};
      }
    }
    for (const item of items) {
      const entry = byPort.get(item.port) || { tamper: null };
      entry.item = item;
      entry.supervised = values[param(item.port, "Input.Supervised")] === "yes";
      entry.canSupervise = param(item.port, "Input.Supervised") in values;
      entry.button = values[param(item.port, "Output.Button")] || "actinact";
      entry.pulseTime = Number(values[param(item.port, "Output.PulseTime")] || 0);
      byPort.set(item.port, entry);
    }
    return items;
  }

  function stateCell(entry) {
    const { item, tamper } = entry;
    const active = item.state !== item.normalState;
    const cell = h("td", { class: "io-state", "data-active": String(active) });
    if (tamper?.tampered && item.direction === "input" && entry.supervised) {
      cell.append(h("span", { class: "pill warn", text: "Tampering" }), " ", h("span", { class: "muted", text: `${tamper.circuit} circuit` }));
      return cell;
    }
    cell.append(
      h("span", { class: active ? "pill on" : "pill off", text: active ? "Active" : "Inactive" }),
      " ",
      h("span", { class: "muted", text: CIRCUIT[item.state] || item.state }),
    );
    return cell;
  }

  /** The output's pulse button: active for the port's pulse time, then back to normal. */
  function pulseButton(entry) {
    const { item } = entry;
    const label = `Pulse port ${Number(item.port) + 1} (${item.name}) for ${entry.pulseTime} ms`;
    const button = h("button", { type: "button", class: "primary", "aria-label": label, "data-pulse": item.port }, "Pulse");
    button.addEventListener("click", () =>
      busy(button, async () => {
        const normal = byPort.get(item.port).item.normalState;
        try {
          await ports("setStateSequence", {
            port: item.port,
            sequence: [
              { state: other(normal), time: entry.pulseTime },
              { state: normal, time: 0 },
            ],
          });
          say(area, "ok", `Port ${Number(item.port) + 1} (${item.name}) pulsed for ${entry.pulseTime} ms.`);
        } catch (error) {
          app.fail(error, area);
        }
        await refreshStates();
      }),
    );
    return button;
  }

  function toggleCell(entry) {
    const { item } = entry;
    const cell = h("td", { class: "row-actions" });
    if (item.direction !== "output" || !operator || entry.button === "none") return cell;
    if (entry.button === "pulse") {
      cell.append(entry.pulseTime > 0 ? pulseButton(entry) : h("span", { class: "muted", text: "No pulse time set" }));
      return cell;
    }
    const active = item.state !== item.normalState;
    const button = h(
      "button",
      {
        type: "button",
        class: active ? "" : "primary",
        "aria-label": `${active ? "Deactivate" : "Activate"} port ${Number(item.port) + 1} (${item.name})`,
        "data-toggle": item.port,
      },
      active ? "Deactivate" : "Activate",
    );
    button.addEventListener("click", () =>
      busy(button, async () => {
        const current = byPort.get(item.port).item;
        const wasActive = current.state !== current.normalState;
        try {
          await ports("setPorts", { ports: [{ port: item.port, state: wasActive ? current.normalState : other(current.normalState) }] });
          say(area, "ok", `Port ${Number(item.port) + 1} (${current.name}) is ${wasActive ? "inactive" : "active"}.`);
        } catch (error) {
          app.fail(error, area);
        }
        await refreshStates();
      }),
    );
    cell.append(button);
    return cell;
  }

  /** Apply one property of one port; then show the port as the device now has it. */
  async function change(port, props, what, focusField) {
    try {
      await ports("setPorts", { ports: [{ port, ...props }] });
      say(area, "ok", `Port ${Number(port) + 1}: ${what}.`);
    } catch (error) {
      app.fail(error, area);
    }
    await reload(port, focusField);
  }

  function row(entry) {
    const { item } = entry;
    const number = Number(item.port) + 1;
    const label = `port ${number}`;
    const cells = [h("th", { scope: "row" }, `Port ${number}`, item.usage ? h("span", { class: "hint", text: item.usage }) : null)];
    const canConfigure = admin;

    if (canConfigure) {
      const name = h("input", { value: item.name, maxlength: "64", "aria-label": `Name of ${label}`, "data-field": "name", autocomplete: "off" });
      name.addEventListener("change", () => {
        if (!name.value.trim()) {
          name.setAttribute("aria-invalid", "true");
          say(area, "error", "Enter a name for the port.");
          return;
        }
        name.removeAttribute("aria-invalid");
        change(item.port, { name: name.value.trim() }, `name set to ${name.value.trim()}`, "name");
      });
      cells.push(h("td", {}, name));
    } else {
      cells.push(h("td", { text: item.name }));
    }

    if (canConfigure && item.configurable) {
      const direction = h(
        "select",
        { "aria-label": `Direction of ${label}`, "data-field": "direction" },
        h("option", { value: "input", text: "Input" }),
        h("option", { value: "output", text: "Output" }),
      );
      direction.value = item.direction;
      direction.addEventListener("change", () => change(item.port, { direction: direction.value }, `now an ${direction.value}`, "direction"));
      cells.push(h("td", {}, direction));
    } else {
      cells.push(h("td", { text: item.direction === "input" ? "Input" : "Output" }));
    }

    if (canConfigure) {
      const normal = h(
        "select",
        { "aria-label": `Normal state of ${label}`, "data-field": "normal" },
        h("option", { value: "open", text: CIRCUIT.open }),
        h("option", { value: "closed", text: CIRCUIT.closed }),
      );
      normal.value = item.normalState;
      normal.addEventListener("change", () =>
        change(item.port, { normalState: normal.value }, `normal state ${CIRCUIT[normal.value].toLowerCase()}`, "normal"),
      );
      cells.push(h("td", {}, normal));
    } else {
      cells.push(h("td", { text: CIRCUIT[item.normalState] || item.normalState }));
    }

    if (item.direction === "input" && entry.canSupervise) {
      if (canConfigure) {
        const box = h("input", { type: "checkbox", role: "switch", "aria-label": `Supervised ${label}`, "data-field": "supervised" });
        box.checked = entry.supervised;
        box.addEventListener("change", async () => {
          box.disabled = true;
          try {
            await api.updateParams({ [`IOPort.I${item.port}.Input.Supervised`]: box.checked ? "yes" : "no" });
            say(area, "ok", `Port ${number}: supervision ${box.checked ? "on" : "off"}.`);
          } catch (error) {
            app.fail(error, area);
          }
          await reload(item.port, "supervised");
        });
        cells.push(h("td", {}, box));
      } else {
        cells.push(h("td", { text: entry.supervised ? "Yes" : "No" }));
      }
    } else {
      cells.push(h("td", { class: "muted", text: "—" }));
    }
    cells.push(buttonSettingsCell(entry, label), stateCell(entry), toggleCell(entry));
    const tr = h("tr", { "data-port": item.port, class: item.direction === "output" ? "io-output" : "io-input" }, cells);
    entry.row = tr;
    return tr;
  }

  /** An output's button on this page (administrators choose it, and the pulse time). */
  function buttonSettingsCell(entry, label) {
    const { item } = entry;
    if (item.direction !== "output") return h("td", { class: "muted", text: "—" });
    if (!admin) {
      const shown = entry.button === "pulse" ? `Pulse, ${entry.pulseTime} ms` : BUTTONS[entry.button] || entry.button;
      return h("td", { text: shown });
    }
    const kind = h(
      "select",
      { "aria-label": `Button of ${label}`, "data-field": "button" },
      Object.entries(BUTTONS).map(([value, text]) => h("option", { value, text })),
    );
    kind.value = entry.button;
    const time = numberInput(entry.pulseTime, 0, MAX_PULSE_MS);
    time.setAttribute("aria-label", `Pulse time of ${label} (ms)`);
    time.dataset.field = "pulse";
    time.hidden = entry.button !== "pulse";
    const save = async (values, what, field) => {
      try {
        await api.updateParams(values);
        say(area, "ok", `Port ${Number(item.port) + 1}: ${what}.`);
      } catch (error) {
        app.fail(error, area);
      }
      await reload(item.port, field);
    };
    kind.addEventListener("change", () =>
      save({ [param(item.port, "Output.Button")]: kind.value }, `button ${BUTTONS[kind.value].toLowerCase()}`, "button"),
    );
    time.addEventListener("change", () => {
      const ms = Number(time.value);
      if (!Number.isInteger(ms) || ms < 0 || ms > MAX_PULSE_MS) {
        time.setAttribute("aria-invalid", "true");
        say(area, "error", `The pulse time is a whole number of milliseconds, 0 to ${MAX_PULSE_MS}.`);
        return;
      }
      time.removeAttribute("aria-invalid");
      save({ [param(item.port, "Output.PulseTime")]: String(ms) }, `pulse time ${ms} ms`, "pulse");
    });
    return h("td", { class: "io-button" }, kind, " ", time);
  }

  function render(items) {
    if (!items.length) {
      clear(tbody, h("tr", {}, h("td", { colspan: "8", class: "muted", text: "This device has no I/O ports." })));
      return;
    }
    clear(tbody, items.map((item) => row(byPort.get(item.port))));
  }

  /** Read everything again and redraw one port (keeping focus where it was). */
  async function reload(port, focusField) {
    try {
      await loadAll();
    } catch (error) {
      app.fail(error, area);
      return;
    }
    for (const [id, entry] of byPort) {
      if (port !== undefined && id !== port) {
        updateState(entry);
        continue;
      }
      replaceRow(entry.row, row(entry), focusField);
    }
  }

  /**
   * Put a redrawn row in place of the old one without losing what the user is doing: the focus
   * stays on the same control, and text being typed (with its selection) moves across.
   */
  function replaceRow(old, fresh, fallbackField) {
    const active = old?.contains(document.activeElement) ? document.activeElement : null;
    if (old?.isConnected) old.replaceWith(fresh);
    const wanted = active?.dataset.field || (document.activeElement === document.body ? fallbackField : null);
    const target = wanted ? fresh.querySelector(`[data-field="${wanted}"]`) : null;
    if (!target) return;
    target.focus();
    if (active?.tagName === "INPUT" && target.tagName === "INPUT" && active.type === "text") {
      target.value = active.value;
      target.setSelectionRange(active.selectionStart, active.selectionEnd);
    }
  }

  function updateState(entry) {
    if (!entry.row) return;
    const cells = entry.row.children;
    cells[6].replaceWith(stateCell(entry));
    const focused = cells[7].contains(document.activeElement);
    cells[7].replaceWith(toggleCell(entry));
    if (focused) entry.row.children[7].querySelector("button")?.focus();
  }

  async function refreshStates() {
    let data;
    try {
      data = await ports("getPorts");
    } catch (error) {
      app.fail(error, area);
      return;
    }
    for (const item of data.items || []) {
      const entry = byPort.get(item.port);
      if (!entry) continue;
      const changed = entry.item.direction !== item.direction || entry.item.name !== item.name || entry.item.normalState !== item.normalState;
      entry.item = item;
      if (changed && !entry.row?.contains(document.activeElement)) {
        replaceRow(entry.row, row(entry), null);
      } else {
        updateState(entry);
      }
    }
  }

  refresh.addEventListener("click", () => busy(refresh, () => reload()));

  render(await loadAll());
  await beaconCard(container, app, area);

  // Live state: the event stream; while it is down, poll.
  let pending = null;
  let poll = null;
  const soon = () => {
    clearTimeout(pending);
    pending = setTimeout(refreshStates, 100);
  };
  const stream = api.eventStream([PORT_TOPIC, SUPERVISED_TOPIC], {
    onEvent(event) {
      if (event.topic === SUPERVISED_TOPIC) {
        const entry = byPort.get(String(Number(event.source.port) - 1));
        if (entry) entry.tamper = { circuit: event.data.state, tampered: event.data.tampered === "1" };
      }
      soon();
    },
    onStatus(status) {
      if (status === "open") {
        live.textContent = "Live";
        live.className = "live on";
        clearInterval(poll);
        poll = null;
      } else if (!poll) {
        live.textContent = "Updating every 3 s";
        live.className = "live muted";
        poll = setInterval(refreshStates, 3000);
      }
    },
  });
  api.whenGone(container, () => {
    stream.close();
    clearInterval(poll);
    clearTimeout(pending);
  });
}
