// The web interface: first-administrator setup, login, the navigation between pages and the
// theme. Each page lives in its own module and talks to the device only through api.js.

import * as api from "./api.js";
import accessoriesPage from "./page-accessories.js";
import accountsPage from "./page-accounts.js";
import appsPage from "./page-apps.js";
import audioPage from "./page-audio.js";
import audioClipsPage from "./page-audio-clips.js";
import lightPage from "./page-light.js";
import sipPage from "./page-sip.js";
import camerasPage from "./page-cameras.js";
import configPage from "./page-config.js";
import detectorsPage from "./page-detectors.js";
import eventsPage from "./page-events.js";
import listenPage from "./page-listen.js";
import livePage from "./page-live.js";
import logsPage from "./page-logs.js";
import maintenancePage from "./page-maintenance.js";
import mqttPage from "./page-mqtt.js";
import multicastPage from "./page-multicast.js";
import networkPage from "./page-network.js";
import powerPage from "./page-power.js";
import poePage, { networkPortsPage } from "./page-poe.js";
import recordingsPage from "./page-recordings.js";
import securityPage from "./page-security.js";
import snmpPage from "./page-snmp.js";
import speakerTestPage from "./page-speakertest.js";
import statusPage from "./page-status.js";
import storagePage from "./page-storage.js";
import timePage from "./page-time.js";
import wlanPage from "./page-wlan.js";
import { ROLE_NAMES, RANK, accountProblem, busy, clear, field, h, markInvalid, messageArea, say } from "./ui.js";

// Each page names the lowest role that may use it; the API enforces the same roles.
const PAGES = [
  { id: "status", title: "Status", role: "viewer", render: statusPage },
  { id: "live", title: "Live view", role: "viewer", render: livePage, needs: "recorder" },
  { id: "recordings", title: "Recordings", role: "viewer", render: recordingsPage, needs: "recorder" },
  { id: "cameras", title: "Cameras", role: "admin", render: camerasPage, needs: "recorder" },
  { id: "storage", title: "Storage", role: "operator", render: storagePage, needs: "storage" },
  { id: "events", title: "Events", role: "operator", render: eventsPage },
  { id: "audio", title: "Audio", role: "operator", render: audioPage, needs: "audio-device-control" },
  { id: "audio-clips", title: "Audio clips", role: "operator", render: audioClipsPage, needs: "media-clip" },
  { id: "listen", title: "Listen and record", role: "viewer", render: listenPage, needs: "audio-device-control" },
  { id: "multicast", title: "Multicast controller", role: "viewer", render: multicastPage, needs: "audio-multicast-ctrl" },
  { id: "speaker-test", title: "Speaker test", role: "admin", render: speakerTestPage, needs: "speaker-test" },
  { id: "detectors", title: "Detectors", role: "operator", render: detectorsPage, needs: "audio-device-control" },
  { id: "light", title: "Light", role: "operator", render: lightPage, needs: "siren-and-light" },
  { id: "sip", title: "SIP", role: "admin", render: sipPage, needs: "sip" },
  { id: "poe", title: "Power over Ethernet", role: "viewer", render: poePage, needs: "nvr-poe" },
  { id: "network-ports", title: "Network ports", role: "viewer", render: networkPortsPage, needs: "network-ports" },
  { id: "accessories", title: "Accessories", role: "viewer", render: accessoriesPage, needs: "io-port-management" },
  { id: "mqtt", title: "MQTT", role: "admin", render: mqttPage, needs: "mqtt-client" },
  { id: "snmp", title: "SNMP", role: "admin", render: snmpPage },
  { id: "time", title: "Time and location", role: "admin", render: timePage, needs: "ntp" },
  { id: "network", title: "Network", role: "admin", render: networkPage, needs: "network-settings" },
  { id: "security", title: "Security", role: "admin", render: securityPage, needs: "cert" },
  { id: "wlan", title: "WLAN", role: "admin", render: wlanPage, needs: "wlan" },
  { id: "power", title: "Power settings", role: "admin", render: powerPage, needs: "power-settings" },
  { id: "accounts", title: "Accounts", role: "admin", render: accountsPage },
  { id: "config", title: "Plain config", role: "operator", render: configPage },
  { id: "logs", title: "Logs", role: "admin", render: logsPage },
  { id: "apps", title: "Apps", role: "admin", render: appsPage },
  { id: "maintenance", title: "Maintenance", role: "admin", render: maintenancePage },
];

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const userBox = document.getElementById("user-box");
const userName = document.getElementById("user-name");
const themeButton = document.getElementById("theme-toggle");
const logButton = document.getElementById("log-button");
const productName = document.getElementById("product");
const toast = document.getElementById("toast");

const state = { session: null, product: "", wantLogin: false, rendered: null, apis: null };

// -- what the pages get -----------------------------------------------------------------
const app = {
  get session() {
    return state.session;
  },
  get role() {
    return state.session?.role || "anonymous";
  },
  get product() {
    return state.product;
  },
  /** Whether API discovery lists `id` (the device has that chapter). */
  hasApi(id) {
    return Boolean(state.apis?.has(id));
  },
  /** Show an error in `area`; an ended session sends the user back to the login form. */
  fail(error, area) {
    if (error instanceof api.ApiError && error.status === 401) {
      boot("Your session has ended. Log in again.");
      return;
    }
    if (area) say(area, "error", error.message || String(error));
    else notify(error.message || String(error), "error");
  },
  notify,
  boot,
  applyTheme,
  /** After restart.cgi and the like: wait until the device is gone and back, then start over. */
  async waitForRestart(area, message) {
    say(area, "info", message);
    const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    const deadline = Date.now() + 120_000;
    const loggedIn = Boolean(state.session?.user);
    let wentDown = false;
    for (let waited = 0; Date.now() < deadline; waited += 1) {
      await sleep(1000);
      let session = null;
      try {
        session = await api.getSession();
      } catch {
        wentDown = true;
      }
      // A restart faster than one poll shows in the session the device no longer knows (sessions
      // live in its memory); without a session to lose, it is seen after a few seconds of answers.
      const forgotten = loggedIn && session !== null && !session.user;
      if (session !== null && (wentDown || forgotten || waited >= 5)) {
        boot("The device has restarted.");
        return;
      }
    }
    say(area, "error", "The device has not come back after two minutes. Check it and reload this page.");
  },
};

function notify(text, kind = "info") {
  toast.textContent = text;
  toast.className = `toast ${kind}`;
  toast.hidden = false;
  clearTimeout(notify.timer);
  notify.timer = setTimeout(() => {
    toast.hidden = true;
  }, 6000);
}

// -- theme ------------------------------------------------------------------------------
function applyTheme(theme) {
  const dark = theme === "dark";
  document.documentElement.classList.toggle("theme-dark", dark);
  document.documentElement.classList.toggle("theme-light", !dark);
  themeButton.setAttribute("aria-pressed", String(dark));
  themeButton.title = dark ? "Switch to the light theme" : "Switch to the dark theme";
  try {
    localStorage.setItem("vigil-theme", dark ? "dark" : "light");
  } catch {
    // storage may be off; the parameter is what counts
  }
}

function currentTheme() {
  return document.documentElement.classList.contains("theme-dark") ? "dark" : "light";
}

async function loadTheme() {
  try {
    const values = await api.listParams(["System.Theme"]);
    if (values["System.Theme"]) applyTheme(values["System.Theme"]);
  } catch {
    // keep the theme this browser last used
  }
}

themeButton.addEventListener("click", async () => {
  const before = currentTheme();
  const next = before === "dark" ? "light" : "dark";
  applyTheme(next);
  if (!state.session?.user) return; // anonymous viewers choose for this browser only
  try {
    await busy(themeButton, () => api.updateParams({ "System.Theme": next }));
  } catch (error) {
    applyTheme(before);
    app.fail(error);
  }
});

// -- session --------------------------------------------------------------------------
logButton.addEventListener("click", async () => {
  if (state.session?.user) {
    try {
      await api.logout();
    } catch (error) {
      app.fail(error);
    }
    state.wantLogin = true; // even where anonymous viewing is on, show the login form
    boot("You are logged out.");
  } else {
    state.wantLogin = true;
    boot();
  }
});

/** The APIs this device has (API discovery): pages of features a profile lacks are not shown. */
async function loadApis() {
  if (state.apis) return;
  try {
    const data = await api.jsonApi("/axis-cgi/apidiscovery.cgi", "1.0", "getApiList");
    state.apis = new Set(data.apiList.map((a) => a.id));
  } catch {
    state.apis = new Set();
  }
}

async function loadProduct() {
  if (state.product) return;
  try {
    const info = await api.publicDeviceInfo();
    state.product = info.propertyList.ProdFullName;
    productName.textContent = state.product;
  } catch {
    // the generic name stays
  }
}

/** Start over: ask who we are, then show setup, login, or the pages. */
async function boot(message = "") {
  let session;
  try {
    session = await api.getSession();
  } catch (error) {
    return showUnreachable(error);
  }
  state.session = session;
  await loadProduct();
  if (session.setupRequired) return showSetup();
  if (!session.user && (session.role === "anonymous" || state.wantLogin)) return showLogin(message);
  state.wantLogin = false;
  await Promise.all([loadTheme(), loadApis()]);
  showShell();
  if (message) notify(message);
  route();
}

function showBare() {
  nav.hidden = true;
  userBox.hidden = true;
  state.rendered = null;
}

function showUnreachable(error) {
  showBare();
  document.title = "Vigil";
  const retry = h("button", { class: "primary", type: "button", onclick: () => boot() }, "Try again");
  clear(
    main,
    h("section", { class: "auth-card" }, h("h1", { text: "The device does not answer" }), h("p", { text: error.message }), retry),
  );
}

function showSetup() {
  showBare();
  document.title = `Create an administrator account - ${state.product || "Vigil"}`;
  const username = h("input", { name: "username", autocomplete: "username", required: true, maxlength: "14" });
  const password = h("input", { name: "password", type: "password", autocomplete: "new-password", required: true });
  const repeat = h("input", { name: "repeat", type: "password", autocomplete: "new-password", required: true });
  const license = h("input", { name: "license", type: "checkbox", id: "accept-license" });
  const area = messageArea();
  const submit = h("button", { class: "primary", type: "submit" }, "Add account");
  const form = h(
    "form",
    { novalidate: true },
    field("Username", username, "1 to 14 letters, digits or underscores."),
    field("Password", password, "1 to 64 printable ASCII characters. Use at least 8, preferably generated."),
    field("Repeat password", repeat),
    h(
      "details",
      { class: "license" },
      h("summary", { text: "License agreement" }),
      h("p", {
        text:
          "This device software is provided as is, without warranty of any kind. You may use it to operate " +
          "the device and must not use it to gain access to systems you are not authorized to use.",
      }),
    ),
    h("div", { class: "check" }, license, h("label", { for: license.id, text: "I accept the license agreement" })),
    area,
    h("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const controls = [username, password, repeat, license];
    const problem =
      accountProblem(username, password, repeat, { ruleText: "Enter a username of 1 to 14 letters, digits or underscores." }) ??
      (!license.checked ? [license, "You must accept the license agreement to add the account."] : null);
    if (problem) {
      markInvalid(controls, problem[0]);
      say(area, "error", problem[1]);
      return;
    }
    markInvalid(controls, null);
    say(area, "info", "Creating the account…");
    await busy(submit, async () => {
      try {
        await api.pwdgrp({
          action: "add",
          user: username.value,
          pwd: password.value,
          grp: "users",
          sgrp: "admin:operator:viewer:ptz",
        });
      } catch (error) {
        if (error.status === 401 && !error.message.startsWith("Error")) {
          boot("An administrator account already exists. Log in.");
        } else {
          say(area, "error", error.message);
        }
        return;
      }
      try {
        await api.login(username.value, password.value);
      } catch (error) {
        say(area, "error", error.message);
        return;
      }
      boot();
    });
  });
  clear(
    main,
    h(
      "section",
      { class: "auth-card" },
      h("h1", { text: "Create an administrator account" }),
      h("p", {
        text:
          "The device has no default account. Create the first administrator now. " +
          "If you lose its password, you must reset the device.",
      }),
      form,
    ),
  );
  username.focus();
}

function showLogin(message) {
  showBare();
  document.title = `Log in - ${state.product || "Vigil"}`;
  const username = h("input", { name: "username", autocomplete: "username", required: true });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const area = messageArea();
  const submit = h("button", { class: "primary", type: "submit" }, "Log in");
  const form = h(
    "form",
    { novalidate: true },
    field("Username", username),
    field("Password", password),
    area,
    h("div", { class: "actions" }, submit),
  );
  if (message) say(area, "info", message);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!username.value || !password.value) {
      say(area, "error", "Enter your username and password.");
      (username.value ? password : username).focus();
      return;
    }
    await busy(submit, async () => {
      try {
        await api.login(username.value, password.value);
      } catch (error) {
        say(area, "error", error.message);
        password.select();
        return;
      }
      state.wantLogin = false;
      if (!location.hash || location.hash === "#/") location.hash = "#/status";
      boot();
    });
  });
  const parts = [h("h1", { text: "Log in" })];
  if (state.product) parts.push(h("p", { class: "muted", text: state.product }));
  parts.push(form);
  // An OpenID provider, where one is enabled: the device sends the browser there and back.
  const oidc = h("p", { hidden: true }, h("a", { class: "button-link", href: "/oidc/login", id: "oidc-login" }, "Log in with OpenID"));
  parts.push(oidc);
  api
    .oidcState()
    .then((offer) => (oidc.hidden = !offer.offered))
    .catch(() => {});
  if (state.session && state.session.role !== "anonymous") {
    parts.push(
      h(
        "p",
        {},
        h("button", { type: "button", class: "link", onclick: () => ((state.wantLogin = false), boot()) }, "Continue without logging in"),
      ),
    );
  }
  clear(main, h("section", { class: "auth-card" }, parts));
  username.focus();
}

// -- the pages ------------------------------------------------------------------------
function allowedPages() {
  return PAGES.filter((page) => RANK[app.role] >= RANK[page.role] && (!page.needs || state.apis?.has(page.needs)));
}

function showShell() {
  const user = state.session.user;
  userName.textContent = user ? `${user} (${ROLE_NAMES[app.role]})` : "Anonymous viewer";
  logButton.textContent = user ? "Log out" : "Log in";
  userBox.hidden = false;
  const list = nav.querySelector("ul");
  clear(
    list,
    allowedPages().map((page) => h("li", {}, h("a", { href: `#/${page.id}`, "data-page": page.id, text: page.title }))),
  );
  nav.hidden = false;
}

async function route() {
  if (!state.session || nav.hidden) return;
  // #/page, or #/page/tab for a page with tabs (the page reads the tab)
  const wanted = (location.hash.replace(/^#\/?/, "") || "status").split("/")[0];
  const page = allowedPages().find((p) => p.id === wanted);
  if (!page) {
    // Not a page for this account (or no page at all): show Status instead.
    if (wanted !== "status") location.replace("#/status");
    return;
  }
  for (const link of nav.querySelectorAll("a")) {
    if (link.dataset.page === page.id) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${page.title} - ${state.product || "Vigil"}`;
  const moved = state.rendered !== null && state.rendered !== page.id;
  state.rendered = page.id;
  const container = h("div", { class: "page", id: `page-${page.id}` });
  const heading = h("h1", { text: page.title, tabindex: "-1" });
  container.append(heading);
  clear(main, container);
  if (moved) heading.focus();
  try {
    await page.render(container, app);
  } catch (error) {
    const area = messageArea();
    container.append(area);
    app.fail(error, area);
  }
}

window.addEventListener("hashchange", () => {
  if (location.hash.startsWith("#/")) route();
});

document.getElementById("skip").addEventListener("click", (event) => {
  event.preventDefault();
  (main.querySelector("h1") || main).focus();
});

boot();
