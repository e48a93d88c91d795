// Network: the tab shell of System > Network. "IP and DNS" (addresses, host name, dynamic DNS, DNS
// servers, what the interface has now) and "Proxies" go through network_settings.cgi, "Ports"
// through param.cgi (a moved port takes the page to the new address), "Discovery" is
// network-discovery.js. A tab is one entry in NETWORK_TABS: [id, label, render(app, panel)], and
// the address names it (#/network/ports). Administrators only, as the APIs are.

import * as api from "./api.js";
import { discoveryPanel } from "./network-discovery.js";
import { busy, card, checkbox, clear, confirmAction, facts, field, h, invalid, messageArea, numberInput, pageTabs, say, select } from "./ui.js";

const settings = (method, params) => api.jsonApi("/axis-cgi/network_settings.cgi", "1.21", method, params);

// -- shared form helpers ------------------------------------------------------------------------------------
function text(value, attrs = {}) {
  return h("input", { value: value ?? "", autocomplete: "off", spellcheck: "false", ...attrs });
}

function form(id, area, save, ...children) {
  return h("form", { novalidate: true, id, class: "columns" }, children,
    h("div", { class: "form-footer" }, area, h("div", { class: "actions" }, save)));
}

function fail(app, error, area) {
  if (error.control) {
    error.control.setAttribute("aria-invalid", "true");
    error.control.focus();
    say(area, "error", error.message);
    return;
  }
  app.fail(error, area);
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

function maskPrefix(mask) {
  if (!IPV4.test(mask)) return -1;
  const bits = mask.split(".").map((n) => Number(n).toString(2).padStart(8, "0")).join("");
  return /^1*0*$/.test(bits) ? bits.indexOf("0") === -1 ? 32 : bits.indexOf("0") : -1;
}

function prefixMask(prefix) {
  const bits = "1".repeat(prefix).padEnd(32, "0");
  return [0, 8, 16, 24].map((i) => parseInt(bits.slice(i, i + 8), 2)).join(".");
}

/** A change the device refuses because it would cut this browser off: ask, then send it confirmed. */
async function applyConfirmed(method, params) {
  try {
    return await settings(method, params);
  } catch (error) {
    if (!/cut you off|turns the network interface off/.test(error.message)) throw error;
    const reason = error.message.replace(/^Invalid parameter\(s\): /, "").replace(/ \(error \d+\)$/, "");
    const go = await confirmAction("You may lose the connection", `${reason}`, "Apply anyway");
    if (!go) throw new Error("Nothing was changed.");
    return settings(method, { ...params, confirm: true });
  }
}

// -- IP and DNS ---------------------------------------------------------------------------------------------
function inUseCard(info) {
  const eth0 = info.devices[0];
  const v4 = eth0.IPv4.addresses.map((a) => `${a.address}/${a.prefixLength} (${a.origin})`);
  const v6 = eth0.IPv6.addresses.map((a) => `${a.address}/${a.prefixLength} (${a.origin})`);
  const lease = info.system.dhcpLease;
  const element = card(
    "In use",
    facts([
      ["Link", eth0.link ? `Connected, interface ${eth0.state}` : "No link"],
      ["MAC address", eth0.macAddress],
      ["IPv4 addresses", v4.join(", ") || "None"],
      ["Router", eth0.IPv4.defaultRouter || "None"],
      ["IPv6 addresses", v6.join(", ") || "None"],
      ["Host name", info.system.hostname.hostname],
      ["DNS servers", info.system.resolver.nameServers.join(", ") || "None"],
      ["Search domains", info.system.resolver.searchDomains.join(", ") || "None"],
      lease && ["DHCP lease", `${lease.address}/${lease.prefixLength} from ${lease.server || "the DHCP server"}`],
      lease && lease.ntpServers.length && ["NTP servers from DHCP", lease.ntpServers.join(", ")],
      eth0.IPv4.dhcpFailed && ["DHCP", "No DHCP server answered: the fallback addresses are in use"],
      info.system.dnsUpdate.enabled && ["Dynamic DNS", `${info.system.dnsUpdate.status}: ${info.system.dnsUpdate.message || "—"}`],
      info.system.lastError && ["Last error", info.system.lastError],
    ]),
  );
  element.id = "network-in-use";
  return element;
}

function ipv4Form(app, info, reload) {
  const v4 = info.devices[0].IPv4;
  const fixed = v4.staticAddressConfigurations[0] || { address: "", prefixLength: 24 };
  const area = messageArea();
  const save = h("button", { type: "submit", class: "primary" }, "Save");
  const dhcp = checkbox("Assign IPv4 automatically (DHCP)", v4.configurationMode === "dhcp");
  const address = text(fixed.address, { inputmode: "decimal" });
  const mask = text(prefixMask(fixed.prefixLength), { inputmode: "decimal" });
  const router = text(v4.staticDefaultRouter, { inputmode: "decimal" });
  const fallback = checkbox("Fallback to the static IP address if DHCP isn't available", v4.useStaticDHCPFallback);
  const linkLocal = select({}, [["on", "Always"], ["fallback", "Only when there is no other address"], ["off", "Never"]]);
  linkLocal.value = v4.linkLocalMode;
  const sync = () => {
    fallback.element.hidden = !dhcp.box.checked;
  };
  dhcp.box.addEventListener("change", sync);
  sync();
  const element = form("network-ipv4-form", area, save, dhcp.element,
    field("IP address", address, "The static address (with DHCP: the fallback)."),
    field("Subnet mask", mask), field("Router", router, "Leave empty for none."), fallback.element,
    field("Link-local address (169.254.x.x)", linkLocal));
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const control of [address, mask, router]) control.removeAttribute("aria-invalid");
    await busy(save, async () => {
      try {
        if (!IPV4.test(address.value.trim())) throw invalid(address, "Enter an IPv4 address such as 192.168.0.90.");
        const prefix = maskPrefix(mask.value.trim());
        if (prefix < 1) throw invalid(mask, "Enter a subnet mask such as 255.255.255.0.");
        if (router.value.trim() && !IPV4.test(router.value.trim())) throw invalid(router, "Enter the router's IPv4 address, or leave it empty.");
        await applyConfirmed("setIPv4AddressConfiguration", {
          deviceName: "eth0",
          configurationMode: dhcp.box.checked ? "dhcp" : "static",
          staticAddressConfigurations: [{ address: address.value.trim(), prefixLength: prefix }],
          staticDefaultRouter: router.value.trim(),
          useStaticDHCPFallback: fallback.box.checked,
          linkLocalMode: linkLocal.value,
        });
        say(area, "ok", "The IPv4 settings are saved. They apply in a moment.");
        setTimeout(reload, 1000);
      } catch (error) {
        fail(app, error, area);
      }
    });
  });
  return card("IPv4", element);
}

function ipv6Form(app, info, reload) {
  const v6 = info.devices[0].IPv6;
  const area = messageArea();
  const save = h("button", { type: "submit", class: "primary" }, "Save");
  const enabled = checkbox("IPv6", v6.enabled);
  const auto = checkbox("Assign IPv6 automatically (router advertisements)", v6.acceptRA);
  const addresses = h("textarea", { rows: "2", spellcheck: "false" });
  addresses.value = v6.staticAddressConfigurations.map((a) => `${a.address}/${a.prefixLength}`).join("\n");
  const router = text(v6.staticDefaultRouter);
  const element = form("network-ipv6-form", area, save, enabled.element, auto.element,
    field("Static IPv6 addresses", addresses, "One a line, with its prefix length, e.g. 2001:db8::10/64."),
    field("IPv6 router", router, "Leave empty for none."));
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    await busy(save, async () => {
      try {
        const configs = addresses.value.split(/\s+/).filter(Boolean).map((line) => {
          const [address, prefix] = line.split("/");
          return { address, prefixLength: prefix ? Number(prefix) : 64 };
        });
        await applyConfirmed("setIPv6AddressConfiguration", {
          deviceName: "eth0", enabled: enabled.box.checked, acceptRA: auto.box.checked,
          staticAddressConfigurations: configs, staticDefaultRouter: router.value.trim(),
        });
        say(area, "ok", "The IPv6 settings are saved.");
        setTimeout(reload, 1000);
      } catch (error) {
        fail(app, error, area);
      }
    });
  });
  return card("IPv6", element);
}

function hostnameForm(app, info, params, reload) {
  const host = info.system.hostname;
  const area = messageArea();
  const save = h("button", { type: "submit", class: "primary" }, "Save");
  const auto = checkbox("Assign hostname automatically (DHCP)", host.useDhcpHostname);
  const name = text(host.staticHostname, { maxlength: "63" });
  const update = checkbox("Enable dynamic DNS updates", params["Network.DNSUpdate.Enabled"] === "yes");
  const dnsName = text(params["Network.DNSUpdate.DNSName"], { maxlength: "253" });
  const ttl = numberInput(params["Network.DNSUpdate.TTL"] || "30", 0, 2147483647);
  const own = h("div", { class: "sub-fields" }, field("Register DNS name", dnsName, "The name that points to the device's address, e.g. nvr.example.com."), field("TTL (seconds)", ttl));
  const sync = () => {
    own.hidden = !update.box.checked;
  };
  update.box.addEventListener("change", sync);
  sync();
  const element = form("network-hostname-form", area, save, auto.element,
    field("Hostname", name, "Letters A–Z, a–z, digits 0–9 and -."), update.element, own);
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    name.removeAttribute("aria-invalid");
    await busy(save, async () => {
      try {
        if (!/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(name.value.trim())) {
          throw invalid(name, "Use 1 to 63 letters, digits and -, not starting or ending with -.");
        }
        await settings("setHostnameConfiguration", { useDhcpHostname: auto.box.checked, staticHostname: name.value.trim() });
        await api.updateParams({
          "Network.DNSUpdate.Enabled": update.box.checked ? "yes" : "no",
          "Network.DNSUpdate.DNSName": dnsName.value.trim(),
          "Network.DNSUpdate.TTL": ttl.value.trim(),
        });
        say(area, "ok", "The hostname settings are saved.");
        setTimeout(reload, 1000);
      } catch (error) {
        fail(app, error, area);
      }
    });
  });
  return card("Hostname", element);
}

function dnsForm(app, info, reload) {
  const resolver = info.system.resolver;
  const area = messageArea();
  const save = h("button", { type: "submit", class: "primary" }, "Save");
  const auto = checkbox("Assign DNS automatically (DHCP)", resolver.useDhcpResolverInfo);
  const servers = [0, 1].map((i) => text(resolver.staticNameServers[i] || ""));
  const search = text(resolver.staticSearchDomains.join(", "));
  const domain = text(resolver.staticDomainName);
  const element = form("network-dns-form", area, save, auto.element,
    field("DNS server 1", servers[0]), field("DNS server 2", servers[1]),
    field("Search domains", search, "Separated by commas, e.g. example.com, lab.example.com."),
    field("Domain name", domain));
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    await busy(save, async () => {
      try {
        await settings("setResolverConfiguration", {
          useDhcpResolverInfo: auto.box.checked,
          staticNameServers: servers.map((s) => s.value.trim()).filter(Boolean),
          staticSearchDomains: search.value.split(",").map((s) => s.trim()).filter(Boolean),
          staticDomainName: domain.value.trim(),
        });
        say(area, "ok", "The DNS settings are saved.");
        setTimeout(reload, 500);
      } catch (error) {
        fail(app, error, area);
      }
    });
  });
  return card("DNS servers", element);
}

async function ipPanel(app, panel) {
  const area = messageArea();
  panel.append(area);
  const render = async () => {
    if (!area.isConnected) return; // another tab is showing now
    let info;
    let params;
    try {
      [info, params] = await Promise.all([settings("getNetworkInfo"), api.listParams(["Network.DNSUpdate"])]);
    } catch (error) {
      app.fail(error, area);
      return;
    }
    clear(panel, area, inUseCard(info), ipv4Form(app, info, render), ipv6Form(app, info, render),
      hostnameForm(app, info, params, render), dnsForm(app, info, render));
  };
  await render();
}

// -- Proxies ------------------------------------------------------------------------------------------------
async function proxiesPanel(app, panel) {
  const area = messageArea();
  panel.append(area);
  let proxies;
  try {
    proxies = (await settings("getNetworkInfo")).system.globalProxies;
  } catch (error) {
    app.fail(error, area);
    return;
  }
  const save = h("button", { type: "submit", class: "primary" }, "Save");
  const http = text(proxies.httpProxy, { placeholder: "http://user:password@proxy.example.com:3128" });
  const https = text(proxies.httpsProxy, { placeholder: "http://proxy.example.com:3128" });
  const none = text(proxies.noProxy, { placeholder: "10.0.0.0/8, .example.com" });
  const formats = "http(s)://host:port, http(s)://user@host:port or http(s)://user:password@host:port.";
  const element = form("network-proxies-form", area, save,
    field("HTTP proxy", http, `For clear connections (HTTP, SMTP, MQTT over TCP...): ${formats}`),
    field("HTTPS proxy", https, `For encrypted connections (HTTPS, TLS, SSH): ${formats}`),
    field("No proxy", none, "Addresses, networks (CIDR), names, or .domain for all its subdomains, separated by commas."));
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    await busy(save, async () => {
      try {
        await settings("setGlobalProxyConfiguration", { httpProxy: http.value.trim(), httpsProxy: https.value.trim(), noProxy: none.value.trim() });
        say(area, "ok", "The proxies are saved. Every outbound connection from now on uses them.");
      } catch (error) {
        fail(app, error, area);
      }
    });
  });
  panel.append(card("Global proxies", h("p", { class: "muted", text: "Recipients, the MQTT client and every other client of the device connect through these proxies." }), element));
}

// -- Ports --------------------------------------------------------------------------------------------------
const P = {
  http: "Network.HTTP.Port",
  https: "HTTPS.Port",
  httpsOn: "HTTPS.Enabled",
  through: "HTTPS.AllowAccessThrough",
  rtsp: "Network.RTSP.Port",
};

async function portsPanel(app, panel) {
  const area = messageArea();
  panel.append(area);
  let params;
  try {
    params = await api.listParams(Object.values(P));
  } catch (error) {
    app.fail(error, area);
    return;
  }
  const save = h("button", { type: "submit", class: "primary" }, "Save");
  const httpsOn = checkbox("HTTPS", params[P.httpsOn] === "yes", "Encrypted access to the device's web pages and APIs.");
  const through = select({}, [["both", "HTTP and HTTPS"], ["http", "HTTP"], ["https", "HTTPS"]]);
  through.value = params[P.through] || "both";
  const ports = {
    [P.http]: numberInput(params[P.http] || "80", 1, 65535),
    [P.https]: numberInput(params[P.https] || "443", 1, 65535),
    [P.rtsp]: numberInput(params[P.rtsp] || "554", 1, 65535),
  };
  const httpsPort = field("HTTPS port", ports[P.https]);
  const sync = () => {
    httpsPort.hidden = !httpsOn.box.checked;
  };
  httpsOn.box.addEventListener("change", sync);
  sync();
  const hint = "80, 443 and 554 are the standard ports; for others use 1024 to 65535 (ports below 1024 belong to other services).";
  const element = form("network-ports-form", area, save,
    field("HTTP port", ports[P.http], hint), httpsOn.element, httpsPort,
    field("Allow access through", through, "HTTPS only: requests on the HTTP port are sent on to HTTPS."),
    field("RTSP port", ports[P.rtsp]));
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    await busy(save, async () => {
      try {
        const values = { [P.httpsOn]: httpsOn.box.checked ? "yes" : "no", [P.through]: through.value };
        for (const [name, control] of Object.entries(ports)) {
          control.removeAttribute("aria-invalid");
          const n = Number(control.value);
          if (!Number.isInteger(n) || n < 1 || n > 65535) throw invalid(control, "A port is a whole number from 1 to 65535.");
          values[name] = String(n);
        }
        // When this browser's way in moves, the device names the new address and the page goes
        // on there, logged in (api.updateParams follows it).
        await api.updateParams(values);
        say(area, "ok", "The ports are saved. The device listens on them now.");
      } catch (error) {
        fail(app, error, area);
      }
    });
  });
  panel.append(
    card("Network ports", element),
    card("This page", facts([["Address", location.origin]]), h("p", { class: "muted", text: "Change the port you use now, and the page reloads at the new address." })),
  );
}

// -- the shell ----------------------------------------------------------------------------------------------
export const NETWORK_TABS = [
  ["ip", "IP and DNS", ipPanel],
  ["proxies", "Proxies", proxiesPanel],
  ["ports", "Ports", portsPanel],
  ["discovery", "Discovery", discoveryPanel],
];

export default async function networkPage(container, app) {
  const entries = NETWORK_TABS.map(([id, label, render]) => [id, label, (panel) => render(app, panel)]);
  const stop = await pageTabs(container, "Network", entries, { route: "network" });
  api.whenGone(container, stop);
}
