// Maintenance > Troubleshoot: ping and port check from the device (pingtest.cgi, tcptest.cgi),
// with their results in the page, and a network trace of a chosen time downloaded as a pcap file
// (debug/debug.tgz?cmd=pcapdump). Administrators only, as the CGIs.

import * as api from "./api.js";
import { busy, card, download, field, h, messageArea, numberInput, say, select } from "./ui.js";

const UNITS = [
  ["1", "seconds"],
  ["60", "minutes"],
];
const MAX_TRACE_SECONDS = 3600;

/** A CGI's text reply; an "Error: ..." reply becomes an ApiError. */
async function textReply(path, params) {
  const reply = await (await api.request(`${path}?${new URLSearchParams(params)}`)).text();
  if (reply.startsWith("Error:")) throw new api.ApiError(reply.trim());
  return reply;
}

function resultBlock(id) {
  return h("pre", { class: "log", id, tabindex: "0", hidden: true });
}

function show(block, text) {
  block.textContent = text.trimEnd();
  block.hidden = false;
}

function pingForm(app) {
  const host = h("input", { autocomplete: "off", spellcheck: "false", maxlength: "253", id: "ping-host" });
  const start = h("button", { type: "submit", class: "primary" }, "Start");
  const area = messageArea();
  const result = resultBlock("ping-result");
  const form = h("form", { class: "inline-form", novalidate: true, "aria-label": "Ping" }, field("Host", host), h("div", { class: "actions" }, start));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!host.value.trim()) {
      say(area, "error", "Enter the host to ping.");
      host.focus();
      return;
    }
    busy(start, async () => {
      say(area, "info", `Pinging ${host.value.trim()}…`);
      try {
        const text = await textReply("/axis-cgi/pingtest.cgi", { ip: host.value.trim() });
        const reached = text.startsWith("got response");
        say(area, reached ? "ok" : "error", reached ? "The host answered." : "The host did not answer.");
        show(result, text);
      } catch (error) {
        app.fail(error, area);
      }
    });
  });
  return [h("h3", { text: "Ping" }), h("p", { class: "muted", text: "Check whether the device can reach a host (a host name or an IP address)." }), form, area, result];
}

function portForm(app) {
  const host = h("input", { autocomplete: "off", spellcheck: "false", maxlength: "253", id: "port-host" });
  const port = numberInput("", 1, 65535);
  port.id = "port-number";
  const protocol = select({ id: "port-protocol" }, [
    ["tcp", "TCP"],
    ["udp", "UDP"],
  ]);
  const start = h("button", { type: "submit", class: "primary" }, "Start");
  const area = messageArea();
  const result = resultBlock("port-result");
  const form = h(
    "form",
    { class: "inline-form", novalidate: true, "aria-label": "Port check" },
    field("Host", host),
    field("Port", port),
    field("Protocol", protocol),
    h("div", { class: "actions" }, start),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const problem = !host.value.trim() ? [host, "Enter the host to check."] : !port.value ? [port, "Enter the port to check."] : null;
    if (problem) {
      say(area, "error", problem[1]);
      problem[0].focus();
      return;
    }
    busy(start, async () => {
      say(area, "info", "Checking…");
      try {
        const text = await textReply("/axis-cgi/tcptest.cgi", { address: host.value.trim(), port: port.value, protocol: protocol.value });
        const open = text.startsWith("Test successful.");
        say(area, open ? "ok" : "error", open ? "The port answered." : "The port did not answer.");
        show(result, text);
      } catch (error) {
        app.fail(error, area);
      }
    });
  });
  return [
    h("h3", { text: "Port check" }),
    h("p", { class: "muted", text: "Check whether the device can connect to a TCP or UDP port of a host (a host name or an IP address)." }),
    form,
    area,
    result,
  ];
}

function traceForm(app) {
  const amount = numberInput(30, 1, 3600);
  amount.id = "trace-time";
  const unit = select({ id: "trace-unit" }, UNITS);
  const start = h("button", { type: "submit", class: "primary" }, "Download");
  const area = messageArea();
  const form = h(
    "form",
    { class: "inline-form", novalidate: true, "aria-label": "Network trace" },
    field("Trace time", amount),
    field("Unit", unit),
    h("div", { class: "actions" }, start),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const seconds = Number(amount.value) * Number(unit.value);
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_TRACE_SECONDS) {
      say(area, "error", "Enter a trace time from 1 second to 1 hour.");
      amount.focus();
      return;
    }
    busy(start, async () => {
      say(area, "info", `Tracing for ${amount.value} ${unit.selectedOptions[0].textContent}. The file downloads when the trace is done.`);
      try {
        const response = await api.request(`/axis-cgi/debug/debug.tgz?${new URLSearchParams({ cmd: "pcapdump", duration: String(seconds) })}`);
        if ((response.headers.get("Content-Type") || "").startsWith("text/")) {
          throw new api.ApiError((await response.text()).trim());
        }
        const disposition = response.headers.get("Content-Disposition") || "";
        const match = disposition.match(/filename="?([^";]+)"?/);
        download(await response.blob(), match ? match[1] : "trace.pcap");
        say(area, "ok", "The network trace is downloaded.");
      } catch (error) {
        app.fail(error, area);
      }
    });
  });
  return [
    h("h3", { text: "Network trace" }),
    h("p", { class: "muted", text: "A network trace file can help you troubleshoot problems by recording activity on the network, for up to one hour." }),
    h("p", { class: "message info", text: "A network trace file might contain sensitive information such as certificates or passwords." }),
    form,
    area,
  ];
}

export function troubleshootCard(app) {
  const element = card("Troubleshoot", pingForm(app), portForm(app), traceForm(app));
  element.id = "troubleshoot";
  return element;
}

/** The crash report (debug.tgz): the server report, the logs and the last network trace. */
export async function crashReport() {
  const response = await api.request("/axis-cgi/debug/debug.tgz");
  if ((response.headers.get("Content-Type") || "").startsWith("text/")) throw new api.ApiError((await response.text()).trim());
  const match = (response.headers.get("Content-Disposition") || "").match(/filename="?([^";]+)"?/);
  return { blob: await response.blob(), filename: match ? match[1] : "debug.tgz" };
}

