// WLAN (W401): which interface the device uses now (the Ethernet cable, or the wireless network
// when the cable is out), the networks in range (signal, channel, security) with Refresh, and
// Configure: a listed network, or a custom (hidden) one, with its IPv4 and IPv6 settings. Through
// /vigil/wlan (getStatus, refresh, configure, forget); kept live by the Wireless event.

import * as api from "./api.js";
import { busy, card, checkbox, clear, facts, field, h, invalid, messageArea, numberInput, say, select } from "./ui.js";

const WLAN = "/vigil/wlan";
const call = (method, params) => api.jsonApi(WLAN, "1.0", method, params);
const TOPIC = "tns1:Device/tnsaxis:Network/Wireless";
const SECURITY = { open: "None (open)", "wpa2-psk": "WPA2-Personal", "wpa3-sae": "WPA3-Personal", "wpa2-eap": "WPA2-Enterprise (PEAP)" };

function describe(status) {
  if (status.interface === "ethernet") {
    const kept = status.configured ? ` It switches to ${status.configured.ssid} when you disconnect the ethernet cable.` : "";
    return `The device is connected via ethernet cable.${kept}`;
  }
  if (status.interface === "wlan") return `The device is connected to the wireless network ${status.connection.ssid}.`;
  if (!status.configured) return "The ethernet cable is disconnected and no wireless network is configured.";
  return `The ethernet cable is disconnected and the wireless network ${status.configured.ssid} cannot be joined: ${status.lastError || status.connection.reason}.`;
}

export default async function wlanPage(container, app) {
  const area = messageArea();
  const now = h("p", { id: "wlan-now" });
  const details = h("div");
  const refresh = h("button", { type: "button" }, "Refresh");
  const custom = h("button", { type: "button" }, "Configure custom network");
  const tbody = h("tbody");
  const table = h(
    "table",
    { id: "wlan-networks" },
    h("caption", { class: "visually-hidden", text: "Wireless networks in range" }),
    h("thead", {}, h("tr", {}, ["Network", "Signal", "Channel", "Security", ""].map((t) => h("th", { scope: "col", text: t })))),
    tbody,
  );
  const formHolder = h("div");
  const statusCard = card("Connection", area, now, details);
  const listCard = card("Wireless networks", h("div", { class: "table-wrap" }, table), formHolder);
  listCard.querySelector("h2").after(h("div", { class: "card-tools" }, refresh, custom));
  container.append(statusCard, listCard);
  let status = null;

  function render() {
    now.textContent = describe(status);
    now.dataset.interface = status.interface;
    const c = status.connection;
    clear(
      details,
      facts([
        ["Interface in use", { ethernet: "Ethernet", wlan: "WLAN", none: "None" }[status.interface]],
        ["Ethernet cable", status.cable ? "Connected" : "Disconnected"],
        c.connected ? ["Wireless network", `${c.ssid} (${c.signal} %)`] : null,
        c.connected && c.addresses.length ? ["Wireless addresses", c.addresses.join(", ")] : null,
        status.configured ? ["Configured network", `${status.configured.ssid}, ${SECURITY[status.configured.security]}${status.configured.hidden ? ", hidden" : ""}`] : null,
      ]),
    );
    if (status.configured) {
      const forget = h("button", { type: "button", class: "danger-text" }, "Forget network");
      forget.addEventListener("click", () =>
        busy(forget, async () => {
          try {
            status = await call("forget");
            say(area, "ok", "The wireless network is forgotten.");
            render();
          } catch (error) {
            app.fail(error, area);
          }
        }),
      );
      details.append(forget);
    }
    clear(
      tbody,
      status.networks.length
        ? status.networks.map((n) => {
            const configure = h("button", { type: "button", "aria-label": `Configure ${n.ssid}` }, "Configure");
            configure.addEventListener("click", () => showForm({ ssid: n.ssid, security: n.security }, false));
            return h(
              "tr",
              { "data-ssid": n.ssid },
              h("th", { scope: "row", text: n.ssid }),
              h("td", { text: `${n.signal} %` }),
              h("td", { text: String(n.channel) }),
              h("td", { text: SECURITY[n.security] || n.security }),
              h("td", { class: "row-actions" }, configure),
            );
          })
        : h("tr", {}, h("td", { colspan: "5", class: "muted", text: "No network listed yet: Refresh scans for them." })),
    );
  }

  function showForm(initial, customNetwork) {
    const previous = status.configured && status.configured.ssid === initial.ssid ? status.configured : {};
    const ssid = h("input", { value: initial.ssid || "", maxlength: "32", autocomplete: "off", readonly: customNetwork ? null : "" });
    if (!customNetwork) ssid.readOnly = true;
    const security = select({}, Object.entries(SECURITY));
    security.value = initial.security || "wpa2-psk";
    const password = h("input", { type: "password", autocomplete: "new-password", placeholder: previous.ssid ? "Unchanged" : "" });
    const identity = h("input", { value: previous.identity || "", autocomplete: "off" });
    const identityField = field("Identity", identity, "The account of the enterprise network.");
    const hidden = checkbox("Hidden network", customNetwork || !!previous.hidden, "The network does not broadcast its name.");
    const mode = select({}, [["dhcp", "Automatic (DHCP)"], ["static", "Manual"]]);
    mode.value = previous.ipv4 || "dhcp";
    const address = h("input", { value: previous.address || "", autocomplete: "off", inputmode: "decimal" });
    const prefix = numberInput(previous.prefix || 24, 1, 32);
    const gateway = h("input", { value: previous.gateway || "", autocomplete: "off", inputmode: "decimal" });
    const staticFields = h("div", {}, field("IPv4 address", address), field("Prefix length", prefix), field("Router", gateway));
    const ipv6 = checkbox("IPv6", previous.ipv6 ?? true, "Addresses from router advertisements on the wireless interface.");
    const save = h("button", { type: "submit", class: "primary" }, "Connect and save");
    const cancel = h("button", { type: "button" }, "Cancel");
    const form = h(
      "form",
      { id: "wlan-form", novalidate: true },
      h("h3", { text: customNetwork ? "Custom network" : `Configure ${initial.ssid}` }),
      field("Network name (SSID)", ssid),
      field("Security", security),
      field("Password", password, "WPA: 8 to 63 characters."),
      identityField,
      hidden.element,
      field("IPv4", mode),
      staticFields,
      ipv6.element,
      h("div", { class: "actions" }, save, cancel),
    );
    const sync = () => {
      identityField.hidden = security.value !== "wpa2-eap";
      staticFields.hidden = mode.value !== "static";
      password.disabled = security.value === "open";
    };
    security.addEventListener("change", sync);
    mode.addEventListener("change", sync);
    sync();
    cancel.addEventListener("click", () => clear(formHolder));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      busy(save, async () => {
        try {
          if (!ssid.value) throw invalid(ssid, "Enter the network name (SSID).");
          const params = {
            ssid: ssid.value,
            security: security.value,
            hidden: hidden.box.checked,
            ipv4: mode.value,
            ipv6: ipv6.box.checked,
            prefix: Number(prefix.value),
          };
          if (password.value || !previous.ssid) params.password = password.value;
          if (security.value === "wpa2-eap") params.identity = identity.value;
          if (mode.value === "static") {
            params.address = address.value.trim();
            params.gateway = gateway.value.trim();
          }
          status = await call("configure", params);
          say(area, "ok", `The network ${ssid.value} accepted the settings; they are saved.`);
          clear(formHolder);
          render();
        } catch (error) {
          if (error.control) {
            error.control.focus();
            say(area, "error", error.message);
          } else {
            app.fail(error, area);
          }
        }
      });
    });
    clear(formHolder, form);
    (customNetwork ? ssid : password).focus();
  }

  refresh.addEventListener("click", () =>
    busy(refresh, async () => {
      try {
        status = await call("refresh");
        render();
      } catch (error) {
        app.fail(error, area);
      }
    }),
  );
  custom.addEventListener("click", () => showForm({ ssid: "", security: "wpa2-psk" }, true));

  status = await call("refresh");
  render();
  let pending = null;
  const stream = api.eventStream([TOPIC], {
    onEvent() {
      clearTimeout(pending);
      pending = setTimeout(async () => {
        try {
          status = await call("getStatus");
          render();
        } catch (error) {
          app.fail(error, area);
        }
      }, 100);
    },
  });
  api.whenGone(container, () => {
    stream.close();
    clearTimeout(pending);
  });
}
