// Network > Discovery: how other devices find this one (the manual's "Network discovery protocols"):
// Bonjour and its name, UPnP and its name, WS-Discovery, LLDP and CDP. The settings are parameters
// (param.cgi) and take effect at once; /vigil/discovery tells what each protocol does now, and on
// which interfaces. Administrators only, as the API says.

import * as api from "./api.js";
import { busy, card, checkbox, clear, facts, field, h, messageArea, say } from "./ui.js";

const P = {
  bonjour: "Network.Bonjour.Enabled",
  bonjourName: "Network.Bonjour.FriendlyName",
  upnp: "Network.UPnP.Enabled",
  upnpName: "Network.UPnP.FriendlyName",
  wsdiscovery: "WebService.DiscoveryMode.Discoverable",
  lldp: "Network.LLDP.Enabled",
};
const NAME_BYTES = 63;
const STATUS_EVERY_MS = 5000;

/** What a protocol's state from /vigil/discovery means to the user. */
function stateText(entry, interfaces) {
  if (!entry) return "Not available";
  const where = interfaces.map((i) => `${i.address} (${i.name})`).join(", ");
  switch (entry.state) {
    case "on":
      return `On: announcing on ${where}${entry.name ? ` as “${entry.name}”` : ""}`;
    case "off":
      return "Off: announces nothing and answers nothing";
    case "no-interface":
      return "On, but there is no network interface to announce on (the device listens on loopback only, or the network settings give none)";
    case "failed":
      return `Cannot start: ${entry.error || "unknown reason"}`;
    default:
      return entry.state;
  }
}

/** Why a friendly name is refused, or "" (the device checks the same). */
function nameProblem(name) {
  if (!name.trim()) return "Enter a name.";
  if (name !== name.trim()) return "Remove the spaces at the start or the end of the name.";
  if (new TextEncoder().encode(name).length > NAME_BYTES) return `The name is too long (at most ${NAME_BYTES} bytes).`;
  return "";
}

export async function discoveryPanel(app, panel) {
  const area = messageArea();
  const statusArea = h("div", { class: "discovery-status", "aria-live": "polite" });
  panel.append(area);
  let values;
  try {
    values = await api.listParams(Object.values(P));
  } catch (error) {
    app.fail(error, area);
    return undefined;
  }
  const yes = (name) => values[name] === "yes";
  const bonjour = checkbox("Bonjour", yes(P.bonjour), "Turn on to allow automatic discovery on the network.");
  const bonjourName = h("input", { type: "text", maxlength: String(NAME_BYTES), value: values[P.bonjourName] || "" });
  const upnp = checkbox("UPnP", yes(P.upnp), "Turn on to allow automatic discovery on the network.");
  const upnpName = h("input", { type: "text", maxlength: String(NAME_BYTES), value: values[P.upnpName] || "" });
  const wsd = checkbox("WS-Discovery", yes(P.wsdiscovery), "Turn on to allow automatic discovery on the network (ONVIF clients).");
  const lldp = checkbox(
    "LLDP and CDP",
    yes(P.lldp),
    "Turn on to allow automatic discovery on the network. Turning LLDP and CDP off can impact the PoE power negotiation.",
  );
  const save = h("button", { type: "submit", class: "primary" }, "Save");
  const form = h(
    "form",
    { novalidate: true, "aria-label": "Network discovery protocols" },
    bonjour.element,
    field("Bonjour name", bonjourName, "The name shown on the network. The default is the device name and MAC address."),
    upnp.element,
    field("UPnP name", upnpName, "The name shown on the network. The default is the device name and MAC address."),
    wsd.element,
    lldp.element,
    h("div", { class: "actions" }, save),
  );
  bonjourName.name = P.bonjourName;
  upnpName.name = P.upnpName;
  panel.append(card("Network discovery protocols", form), card("What the device announces now", statusArea));

  async function showStatus() {
    try {
      const status = await (await api.request("/vigil/discovery")).json();
      clear(
        statusArea,
        facts([
          ["Bonjour", stateText(status.bonjour, status.interfaces)],
          ["UPnP", stateText(status.upnp, status.interfaces)],
          ["WS-Discovery", stateText(status.wsdiscovery, status.interfaces)],
          ["LLDP and CDP", stateText(status.lldp, status.interfaces)],
        ]),
      );
    } catch (error) {
      app.fail(error, area);
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    for (const input of [bonjourName, upnpName]) input.removeAttribute("aria-invalid");
    for (const input of [bonjourName, upnpName]) {
      const problem = nameProblem(input.value);
      if (problem) {
        input.setAttribute("aria-invalid", "true");
        input.focus();
        say(area, "error", problem);
        return;
      }
    }
    busy(save, async () => {
      const changes = {
        [P.bonjour]: bonjour.box.checked ? "yes" : "no",
        [P.bonjourName]: bonjourName.value,
        [P.upnp]: upnp.box.checked ? "yes" : "no",
        [P.upnpName]: upnpName.value,
        [P.wsdiscovery]: wsd.box.checked ? "yes" : "no",
        [P.lldp]: lldp.box.checked ? "yes" : "no",
      };
      try {
        await api.updateParams(changes);
        say(area, "ok", "Saved. The changes apply now.");
      } catch (error) {
        app.fail(error, area);
      }
      await showStatus();
    });
  });

  await showStatus();
  const timer = setInterval(showStatus, STATUS_EVERY_MS);
  const stop = () => clearInterval(timer);
  api.whenGone(form, stop); // the panel's content was replaced (another tab, another page)
  return stop;
}
