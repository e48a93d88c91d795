// Apps (the manual's Apps chapter): add an app (upload), allow unsigned apps, start and stop
// each app with its switch, open its settings, activate or deactivate its license with a key,
// read its app log, delete it. Through the VAPIX Application API (applications/*.cgi) and
// /vigil/apps, which adds what list.cgi does not say (crash loop, signer, why it stopped).

import * as api from "./api.js";
import { busy, card, checkbox, clear, confirmAction, field, h, messageArea, modal, say } from "./ui.js";

const CGI = "/axis-cgi/applications";

/** A text reply of the Application API: "OK", or an ApiError with the device's reason. */
async function appCall(path, options = {}) {
  const reply = (await (await api.request(`${CGI}/${path}`, options)).text()).trim();
  if (reply !== "OK" && !reply.startsWith("<reply result=\"ok\"")) {
    throw new api.ApiError(reply.replace(/^Error: \d+ /, "") || "The device refused.");
  }
  return reply;
}

function upload(path, fieldName, file) {
  const body = new FormData();
  body.append(fieldName, file, file.name);
  return appCall(path, { method: "POST", body });
}

function fileInput(label, accept) {
  const input = h("input", { type: "file", accept });
  return { input, element: field(label, input) };
}

export default async function appsPage(container, app) {
  const area = messageArea();
  const list = h("div", { id: "apps-list", class: "table-wrap" });
  const isolation = h("p", { class: "muted", id: "apps-isolation" });
  const addFile = fileInput("App package (.eap)", ".eap,application/octet-stream");
  const addButton = h("button", { type: "submit", class: "primary" }, "Add app");
  const addForm = h("form", { id: "apps-add", novalidate: true }, addFile.element, addButton);
  const unsigned = checkbox("Allow unsigned apps", false, "Turn on to allow installation of unsigned apps.");
  container.append(card("Apps", area, isolation, addForm, unsigned.element, list));

  addForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = addFile.input.files[0];
    if (!file) {
      say(area, "error", "Choose an app package first.");
      return;
    }
    await busy(addButton, async () => {
      try {
        await upload("upload.cgi", "packfil", file);
        say(area, "ok", `Installed ${file.name}.`);
        addForm.reset();
        await refresh();
      } catch (error) {
        app.fail(error, area);
      }
    });
  });

  unsigned.box.addEventListener("change", async () => {
    const value = unsigned.box.checked ? "true" : "false";
    try {
      await appCall(`config.cgi?action=set&name=AllowUnsigned&value=${value}`);
      say(area, "ok", unsigned.box.checked ? "Unsigned apps may be installed." : "Only signed apps may be installed.");
    } catch (error) {
      unsigned.box.checked = !unsigned.box.checked;
      app.fail(error, area);
    }
  });

  async function act(button, action, done) {
    await busy(button, async () => {
      try {
        await action();
        if (done) say(area, "ok", done);
      } catch (error) {
        app.fail(error, area);
      }
      await refresh();
    });
  }

  async function showLog(name) {
    const text = await (await api.request(`/axis-cgi/systemlog.cgi?appname=${encodeURIComponent(name)}`)).text();
    await modal({
      title: `App log: ${name}`,
      wide: true,
      content: h("pre", { class: "log", id: "apps-log", text: text || "Nothing logged yet." }),
      buttons: [{ label: "Close", value: "ok", class: "primary" }],
    });
  }

  async function activateLicense(name) {
    const key = fileInput("License key (XML)", ".xml,text/xml");
    const note = messageArea();
    await modal({
      title: `Activate license: ${name}`,
      content: h("div", {}, note, key.element),
      buttons: [
        { label: "Cancel", value: "cancel" },
        { label: "Activate", value: "ok", class: "primary" },
      ],
      onSubmit: async () => {
        const file = key.input.files[0];
        if (!file) {
          say(note, "error", "Choose the license key file.");
          return false;
        }
        try {
          await upload(`license.cgi?action=uploadlicensekey&package=${encodeURIComponent(name)}`, "fileData", file);
          say(area, "ok", `License activated for ${name}.`);
          return true;
        } catch (error) {
          say(note, "error", error.message);
          return false;
        }
      },
    });
    await refresh();
  }

  function row(entry) {
    const name = entry.name;
    const control = `control.cgi?package=${encodeURIComponent(name)}&action=`;
    const running = entry.status === "Running";
    const toggle = h("input", { type: "checkbox", role: "switch", "aria-label": `Run ${entry.niceName}` });
    toggle.checked = running || entry.crashLoop;
    toggle.disabled = entry.runMode === "never";
    toggle.addEventListener("change", () =>
      act(toggle, () => appCall(control + (toggle.checked ? "start" : "stop")), toggle.checked ? `${name} started.` : `${name} stopped.`),
    );
    const buttons = [];
    if (entry.settingsPage) {
      buttons.push(h("a", { href: `/${entry.settingsPage}`, target: "_blank", rel: "noopener", class: "button-link" }, "Open"));
    }
    const logButton = h("button", { type: "button" }, "App log");
    logButton.addEventListener("click", () => showLog(name).catch((error) => app.fail(error, area)));
    buttons.push(logButton);
    if (entry.license === "Missing") {
      const activate = h("button", { type: "button" }, "Activate license with a key");
      activate.addEventListener("click", () => activateLicense(name));
      buttons.push(activate);
    } else if (entry.license === "Valid") {
      const deactivate = h("button", { type: "button" }, "Deactivate the license");
      deactivate.addEventListener("click", () =>
        act(deactivate, () => appCall(`license.cgi?action=removelicensekey&package=${encodeURIComponent(name)}`), `License of ${name} deactivated.`),
      );
      buttons.push(deactivate);
    }
    const remove = h("button", { type: "button", class: "danger" }, "Delete");
    remove.addEventListener("click", async () => {
      if (await confirmAction(`Delete ${entry.niceName}?`, "The app and its data are removed from the device.", "Delete")) {
        await act(remove, () => appCall(control + "remove"), `${name} deleted.`);
      }
    });
    buttons.push(remove);
    const state = entry.crashLoop ? `Crash loop: ${entry.message}` : entry.message && !running ? `${entry.status}: ${entry.message}` : entry.status;
    return h(
      "tr",
      { "data-app": name },
      h("td", {}, toggle),
      h("td", {}, h("strong", { text: entry.niceName }), h("div", { class: "muted", text: `${name} ${entry.version}, ${entry.vendor}` })),
      h("td", { class: "app-status", text: state }),
      h("td", { text: entry.signed ? `Signed (${entry.signer})` : "Unsigned" }),
      h("td", { text: entry.license === "None" ? "Not needed" : entry.license }),
      h("td", { class: "actions" }, buttons),
    );
  }

  async function refresh() {
    try {
      const state = await (await api.request("/vigil/apps")).json();
      unsigned.box.checked = state.allowUnsigned;
      isolation.textContent = `On this device ${state.isolation}.`;
      if (!state.apps.length) {
        clear(list, h("p", { class: "muted", text: "No apps are installed." }));
        return;
      }
      clear(
        list,
        h(
          "table",
          {},
          h("thead", {}, h("tr", {}, ["Run", "App", "Status", "Signature", "License", ""].map((t) => h("th", { text: t })))),
          h("tbody", {}, state.apps.map(row)),
        ),
      );
    } catch (error) {
      app.fail(error, area);
    }
  }

  await refresh();
  const ticker = setInterval(refresh, 5000); // a crashing app's state moves on its own
  api.whenGone(container, () => clearInterval(ticker));
}
