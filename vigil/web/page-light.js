// Light (C1410 manual, Light): the light status list (at most 10 activities; the row that shows
// is highlighted) and the profiles (at most 30): create, edit, copy, preview, start, delete,
// import (add / delete and add / overwrite) and export as JSON. Everything goes through VAPIX
// Siren and light (siren_and_light.cgi); the status list and what the LED and siren do now come
// from /vigil/light. Operators and administrators, as the API allows.

import * as api from "./api.js";
import { busy, card, checkbox, clear, confirmAction, download, facts, field, h, messageArea, modal, say, select } from "./ui.js";

const PATH = "/axis-cgi/siren_and_light.cgi";
const sal = (method, params) => api.jsonApi(PATH, "1.0", method, params);
const NONE = "";

function summary(part, kind) {
  if (!part) return "—";
  const extra = kind === "light" ? `, ${part.colors.join("/")}, speed ${part.speed}` : "";
  const duration = part.duration && part.duration.value ? `, ${part.duration.value} ${part.duration.unit}` : "";
  return `${part.pattern}${extra}, intensity ${part.intensity}${duration}`;
}

function timeLeft(seconds) {
  return seconds === null || seconds === undefined ? "Continuous" : `${seconds} s`;
}

/** The profile editor's controls over the capabilities; `read()` gives the profile as the API takes it. */
function editor(caps, profile) {
  const lightPatterns = caps.light.supportedPatterns;
  const sirenPatterns = caps.siren.supportedPatterns;
  const name = h("input", { id: "light-name", maxlength: "50", required: true, value: profile?.name || "" });
  const description = h("input", { id: "light-description", maxlength: "250", value: profile?.description || "" });
  const lightPattern = select({ id: "light-pattern" }, [[NONE, "No light"], ...lightPatterns.map((p) => [p.name, p.name])]);
  const speed = select({ id: "light-speed" }, []);
  const intensity = select({ id: "light-intensity" }, caps.light.supportedPatterns[0].intensity.possible.map((n) => [String(n), String(n)]));
  const colors = h("fieldset", { class: "colors" }, h("legend", { text: "Color" }));
  const sirenPattern = select({ id: "siren-pattern" }, [[NONE, "No siren"], ...sirenPatterns.map((p) => [p.name, p.name])]);
  const sirenIntensity = select({ id: "siren-intensity" }, sirenPatterns[0].intensity.possible.map((n) => [String(n), String(n)]));
  const durationKind = select({ id: "light-duration" }, [["continuous", "Continuous"], ["seconds", "Time (seconds)"], ["repetitions", "Repetitions"]]);
  const durationValue = h("input", { id: "light-duration-value", type: "number", min: "1", max: "259200", value: "30" });
  const priority = select({ id: "light-priority" }, Array.from({ length: 10 }, (_, i) => [String(i + 1), String(i + 1)]));

  const showPattern = () => {
    const chosen = lightPatterns.find((p) => p.name === lightPattern.value);
    speed.replaceChildren(...(chosen ? chosen.speed.possible : []).map((n) => h("option", { value: String(n), text: String(n) })));
    const picked = new Set(chosen ? chosen.colors.default : []);
    colors.replaceChildren(h("legend", { text: chosen && chosen.colors.maxNbrColors > 1 ? `Colors (${chosen.colors.minNbrColors} to ${chosen.colors.maxNbrColors})` : "Color" }));
    for (const color of chosen ? chosen.colors.possible : []) {
      const box = checkbox(color, picked.has(color));
      box.box.dataset.color = color;
      colors.append(box.element);
    }
  };
  lightPattern.value = profile?.light?.pattern || lightPatterns[0].name;
  showPattern();
  lightPattern.addEventListener("change", showPattern);
  const part = profile?.light || profile?.siren;
  if (profile?.light) {
    speed.value = String(profile.light.speed);
    intensity.value = String(profile.light.intensity);
    for (const input of colors.querySelectorAll("input")) input.checked = profile.light.colors.includes(input.dataset.color);
  }
  sirenPattern.value = profile?.siren?.pattern || NONE;
  if (profile?.siren) sirenIntensity.value = String(profile.siren.intensity);
  if (part?.duration && part.duration.value) {
    durationKind.value = part.duration.unit;
    durationValue.value = String(part.duration.value);
  }
  priority.value = String(part?.priority || 3);

  const element = h(
    "div",
    { class: "light-editor" },
    field("Name", name),
    field("Description", description),
    h("h3", { text: "Light" }),
    field("Pattern", lightPattern),
    field("Speed", speed),
    field("Intensity", intensity),
    colors,
    h("h3", { text: "Siren" }),
    field("Pattern", sirenPattern),
    field("Intensity", sirenIntensity),
    h("h3", { text: "Duration and priority" }),
    field("Duration", durationKind),
    field("Seconds or repetitions", durationValue, "Time: 1 to 259200 seconds; repetitions: 1 to 20."),
    field("Priority", priority, "1 to 10; the highest running priority shows."),
  );
  function read() {
    const duration = durationKind.value === "continuous" ? undefined : { unit: durationKind.value, value: Number(durationValue.value) };
    const out = { name: name.value.trim() };
    if (description.value) out.description = description.value;
    if (lightPattern.value) {
      out.light = {
        pattern: lightPattern.value,
        speed: Number(speed.value),
        colors: [...colors.querySelectorAll("input:checked")].map((i) => i.dataset.color),
        intensity: Number(intensity.value),
        priority: Number(priority.value),
      };
      if (duration) out.light.duration = duration;
    }
    if (sirenPattern.value) {
      out.siren = { pattern: sirenPattern.value, intensity: Number(sirenIntensity.value), priority: Number(priority.value) };
      if (duration) out.siren.duration = duration;
    }
    return out;
  }
  return { element, read };
}

export default async function lightPage(container, app) {
  const area = messageArea();
  const statusBody = h("tbody", { id: "light-status" });
  const now = h("div", { id: "light-now" });
  const profileBody = h("tbody", { id: "light-profiles" });
  const caps = (await sal("getCapabilities")).capabilities;
  let profiles = [];

  async function refreshStatus() {
    const status = await (await api.request("/vigil/light")).json();
    clear(now, facts([["Light", status.led], ["Siren", status.siren || "silent"], ["Maintenance mode", status.maintenance ? "On" : "Off"]]));
    clear(
      statusBody,
      status.activities.length
        ? status.activities.map((a) => {
            const stop = h("button", { type: "button", "aria-label": `Stop ${a.name}` }, "Stop");
            stop.disabled = !a.removable;
            stop.addEventListener("click", () =>
              busy(stop, async () => {
                try {
                  await sal("stop", { [`${a.function}Id`]: a.id });
                  await refreshStatus();
                } catch (error) {
                  app.fail(error, area);
                }
              }),
            );
            return h(
              "tr",
              { class: a.shown ? "shown" : "", "aria-current": a.shown ? "true" : "false" },
              h("td", { text: a.name }),
              h("td", { text: a.function }),
              h("td", { text: String(a.priority) }),
              h("td", { text: timeLeft(a.durationLeft) }),
              h("td", {}, stop),
            );
          })
        : [h("tr", {}, h("td", { colspan: "5", class: "muted", text: "Nothing runs." }))],
    );
  }

  async function act(button, work, message) {
    return busy(button, async () => {
      try {
        await work();
        if (message) say(area, "ok", message);
        await refreshProfiles();
        await refreshStatus();
        return true;
      } catch (error) {
        app.fail(error, area);
        return false;
      }
    });
  }

  async function edit(original, copy = false) {
    const form = editor(caps, copy && original ? { ...original, name: `${original.name} copy` } : original);
    let preview = null;
    const previewButton = h("button", { type: "button", id: "light-preview" }, "Preview");
    const formArea = messageArea();
    previewButton.addEventListener("click", () =>
      busy(previewButton, async () => {
        try {
          if (preview) {
            await sal("stop", preview);
            preview = null;
          } else {
            const { light, siren } = form.read();
            preview = await sal("start", { ...(light ? { light } : {}), ...(siren ? { siren } : {}) });
          }
          previewButton.textContent = preview ? "Stop preview" : "Preview";
          await refreshStatus();
        } catch (error) {
          app.fail(error, formArea);
        }
      }),
    );
    await modal({
      title: original && !copy ? `Edit ${original.name}` : "Create profile",
      content: h("div", {}, formArea, form.element, previewButton),
      wide: true,
      buttons: [
        { label: "Cancel", value: "cancel" },
        { label: "Save", value: "save", class: "primary" },
      ],
      onSubmit: async () => {
        try {
          const profile = form.read();
          // A rename or an edit: the new profile first, so that a refusal loses nothing.
          if (original && !copy && original.name === profile.name) {
            await uploadProfiles([profile], "overwrite");
          } else {
            await sal("addProfile", profile);
            if (original && !copy) await sal("removeProfile", { name: original.name });
          }
          say(area, "ok", `Profile ${profile.name} saved.`);
          return true;
        } catch (error) {
          app.fail(error, formArea);
          return false;
        }
      },
    });
    if (preview) await sal("stop", preview).catch(() => null);
    await refreshProfiles();
    await refreshStatus();
  }

  async function uploadProfiles(list, mode) {
    const body = new FormData();
    body.append("request", new Blob([JSON.stringify({ apiVersion: "1.0", context: "web", method: "uploadProfiles", params: { uploadMode: mode } })], { type: "application/json" }));
    body.append("file", new Blob([JSON.stringify(list)], { type: "application/json" }), "profiles");
    const reply = await (await api.request(PATH, { method: "POST", body })).json();
    if (reply.error) throw new api.ApiError(`${reply.error.message} (error ${reply.error.code})`);
  }

  async function importProfiles() {
    const file = h("input", { type: "file", id: "light-import-file", accept: ".json,application/json" });
    const mode = select({ id: "light-import-mode" }, [["add", "Add"], ["erase_and_add", "Delete and add"], ["overwrite", "Overwrite"]]);
    const formArea = messageArea();
    await modal({
      title: "Import profiles",
      content: h("div", {}, formArea, field("Profiles file (JSON)", file), field("Mode", mode, "Add: new profiles only. Delete and add: the old profiles are deleted. Overwrite: profiles with the same name are replaced.")),
      buttons: [
        { label: "Cancel", value: "cancel" },
        { label: "Import", value: "import", class: "primary" },
      ],
      onSubmit: async () => {
        try {
          if (!file.files.length) throw new api.ApiError("Choose a profiles file.");
          const list = JSON.parse(await file.files[0].text());
          await uploadProfiles(list, mode.value);
          say(area, "ok", `Imported ${list.length} profile(s).`);
          return true;
        } catch (error) {
          app.fail(error instanceof SyntaxError ? new api.ApiError("The file is not JSON.") : error, formArea);
          return false;
        }
      },
    });
    await refreshProfiles();
  }

  function exportProfiles(list) {
    download(new Blob([JSON.stringify(list, null, 2)], { type: "application/json" }), "light-profiles.json");
  }

  async function refreshProfiles() {
    profiles = (await sal("getProfiles")).profiles || [];
    clear(
      profileBody,
      profiles.length
        ? profiles.map((p) => {
            const pick = h("input", { type: "checkbox", "aria-label": `Select ${p.name}`, "data-name": p.name });
            const buttons = [
              ["Start", (b) => act(b, () => sal("start", { profile: p.name }), `${p.name} started.`)],
              ["Stop", (b) => act(b, () => sal("stop", { profile: p.name }), `${p.name} stopped.`)],
              ["Edit", () => edit(p)],
              ["Copy", () => edit(p, true)],
              ["Export", () => exportProfiles([p])],
              [
                "Delete",
                async (b) => {
                  if (await confirmAction(`Delete ${p.name}?`, "The profile is deleted.", "Delete")) await act(b, () => sal("removeProfile", { name: p.name }), `${p.name} deleted.`);
                },
              ],
            ].map(([label, run]) => {
              const b = h("button", { type: "button", "aria-label": `${label} ${p.name}` }, label);
              b.addEventListener("click", () => run(b));
              return b;
            });
            const priority = (p.light || p.siren).priority;
            return h(
              "tr",
              {},
              h("td", {}, pick),
              h("td", { text: p.name }),
              h("td", { text: p.description || "" }),
              h("td", { text: String(priority) }),
              h("td", { text: summary(p.light, "light") }),
              h("td", { text: summary(p.siren, "siren") }),
              h("td", { class: "actions" }, buttons),
            );
          })
        : [h("tr", {}, h("td", { colspan: "7", class: "muted", text: "No profiles yet." }))],
    );
  }

  const create = h("button", { type: "button", class: "primary", id: "light-create" }, "Create");
  create.addEventListener("click", () => edit(null));
  const importButton = h("button", { type: "button", id: "light-import" }, "Import");
  importButton.addEventListener("click", importProfiles);
  const exportButton = h("button", { type: "button", id: "light-export" }, "Export");
  exportButton.addEventListener("click", () => {
    const chosen = new Set([...profileBody.querySelectorAll("input:checked")].map((i) => i.dataset.name));
    if (!chosen.size) return say(area, "error", "Select the profiles to export.");
    exportProfiles(profiles.filter((p) => chosen.has(p.name)));
  });
  container.append(
    area,
    card(
      "Light status",
      h("p", { class: "muted", text: "Up to 10 activities; the one with the highest priority shows (highlighted). Maintenance (11), Identify (12) and Health check (13) stay in the list." }),
      now,
      h("table", {}, h("thead", {}, h("tr", {}, ["Activity", "Function", "Priority", "Time left", ""].map((t) => h("th", { text: t })))), statusBody),
    ),
    card(
      "Profiles",
      h("p", { class: "muted", text: "Up to 30 profiles with different priorities and patterns." }),
      h("div", { class: "toolbar" }, create, importButton, exportButton),
      h("table", {}, h("thead", {}, h("tr", {}, ["", "Name", "Description", "Priority", "Light", "Siren", ""].map((t) => h("th", { text: t })))), profileBody),
    ),
  );
  await refreshProfiles();
  await refreshStatus();
  const timer = setInterval(() => {
    if (!container.isConnected) return clearInterval(timer);
    refreshStatus().catch(() => clearInterval(timer));
  }, 1000);
}
