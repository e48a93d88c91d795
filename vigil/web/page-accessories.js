// Accessories: the I/O ports (portmanagement.cgi getPorts / setPorts, and the Supervised
// parameter through param.cgi), with the current state kept live by the event stream.
// Viewers see the ports, operators may switch outputs, administrators configure them.

import * as api from "./api.js";
import { RANK, busy, card, clear, h, messageArea, say } from "./ui.js";

const PORTS = "/axis-cgi/io/portmanagement.cgi";
const ports = (method, params) => api.jsonApi(PORTS, "1.0", method, params);
const PORT_TOPIC = "tns1:Device/tnsaxis:IO/Port";
const SUPERVISED_TOPIC = "tns1:Device/tnsaxis:IO/SupervisedPort";
const CIRCUIT = { open: "Open circuit", closed: "Closed circuit" };
const other = (circuit) => (circuit === "open" ? "closed" : "open");

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
        ["Port", "Name", "Direction", "Normal state", "Supervised", "Current state", ""].map((t) =>
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
    let supervised = {};
    if (items.length) {
      try {
        supervised = await api.listParams(items.map((i) => `IOPort.I${i.port}.Input.Supervised`));
      } catch {
        supervised = {};
      }
    }
    for (const item of items) {
      const entry = byPort.get(item.port) || { tamper: null };
      entry.item = item;
      entry.supervised = supervised[`IOPort.I${item.port}.Input.Supervised`] === "yes";
      entry.canSupervise = `IOPort.I${item.port}.Input.Supervised` in supervised;
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

  function toggleCell(entry) {
    const { item } = entry;
    const cell = h("td", { class: "row-actions" });
    if (item.direction !== "output" || !operator) return cell;
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
    cells.push(stateCell(entry), toggleCell(entry));
    const tr = h("tr", { "data-port": item.port, class: item.direction === "output" ? "io-output" : "io-input" }, cells);
    entry.row = tr;
    return tr;
  }

  function render(items) {
    if (!items.length) {
      clear(tbody, h("tr", {}, h("td", { colspan: "7", class: "muted", text: "This device has no I/O ports." })));
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
    cells[5].replaceWith(stateCell(entry));
    const focused = cells[6].contains(document.activeElement);
    cells[6].replaceWith(toggleCell(entry));
    if (focused) entry.row.children[6].querySelector("button")?.focus();
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
