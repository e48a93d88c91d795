// Storage (System > Storage in the manuals): the onboard volume with its RAID, the tools with
// progress (check, repair, format, encrypt, decrypt, change password, change RAID level), the hard drive status with the LED each
// bay shows, write protection, retention, mount/unmount, and network storage (SMB shares).
// Everything goes through /axis-cgi/storage.cgi, the same public API integrators use.

import * as api from "./api.js";
import { RANK, busy, card, clear, confirmAction, facts, field, h, messageArea, modal, say, uid } from "./ui.js";

const STORAGE = "/axis-cgi/storage.cgi";
export const storage = (method, params) => api.jsonApi(STORAGE, "1.0", method, params);
const REFRESH_MS = 3000;
const RAID_STATUS = { online: "Online", degraded: "Degraded", syncing: "Syncing", failed: "Failed" };
const STATUS = { OK: "Mounted", connected: "Not mounted", disconnected: "Disconnected", failed: "Failed" };
const LED_STYLE = { amber: "background:#c77700" };
const TOOLS = {
  check: ["Check", "Check the storage device for errors and try to repair it automatically."],
  repair: ["Repair", "Repair the storage device. Active recordings pause during the repair. Repairing may lose data."],
  format: ["Format", "Erase all recordings and format the storage device. Choose a file system."],
  encrypt: ["Encrypt", "Encrypt data that is stored. All files on the storage device will be erased."],
  decrypt: ["Decrypt", "Decrypt data that is stored. All files on the storage device will be erased."],
  changepassword: ["Change password", "Change the password for the disk encryption. Ongoing recordings go on."],
  raid: ["Change RAID level", "Erase all recordings and change the RAID level of the storage."],
};
const ENCRYPTION_TOOLS = ["encrypt", "decrypt", "changepassword"];

export function size(bytes) {
  if (bytes === null || bytes === undefined) return "—";
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value.toFixed(value < 10 && unit ? 1 : 0)} ${units[unit]}`;
}

function led(drive) {
  const colors = { green: "dot ok", red: "dot error", amber: "dot", off: "dot" };
  const style = [LED_STYLE[drive.led.color] || "", drive.led.blink ? "animation: pulse 1.2s ease-in-out infinite" : ""]
    .filter(Boolean)
    .join(";");
  const label = `${drive.led.color}${drive.led.blink ? ", blinking" : ""}`;
  return h(
    "span",
    { class: "led", style: "display:inline-flex;align-items:center;gap:8px", title: drive.led.meaning },
    h("span", { class: colors[drive.led.color] || "dot", style: style || null, "aria-hidden": "true" }),
    h("span", { text: `${label[0].toUpperCase()}${label.slice(1)}` }),
  );
}

function pill(on, onText, offText, warn = false) {
  return h("span", { class: on ? (warn ? "pill warn" : "pill on") : "pill off" }, on ? onText : offText);
}

/** Follow a job until it is done, showing it in `bar` and `area`. */
async function follow(job, bar, area) {
  bar.hidden = false;
  for (;;) {
    bar.value = job.progress;
    say(area, job.result === "ERROR" ? "error" : job.done ? "ok" : "info", job.done ? job.description : `${job.action}: ${job.progress} % ${job.description || ""}`);
    if (job.done) break;
    await new Promise((resolve) => setTimeout(resolve, 400));
    job = (await storage("getJob", { jobId: job.jobId })).job;
  }
  bar.hidden = true;
  return job;
}

function volumeFacts(volume, drives) {
  const temps = drives.filter((d) => d.temperature !== null && d.temperature !== undefined).map((d) => d.temperature);
  const health = drives.filter((d) => d.status !== "absent");
  const rows = [
    ["Status", pill(volume.status === "OK", STATUS[volume.status], STATUS[volume.status] || volume.status, volume.status === "failed")],
    ["Free", `${size(volume.freeBytes)} of ${size(volume.totalBytes)}`],
    ["Used", size(volume.usedBytes)],
    ["File system", volume.fileSystem],
    ["Encrypted", volume.encrypted ? "Yes" : "No"],
  ];
  if (volume.kind === "local") {
    rows.push(["Temperature", temps.length ? `${Math.max(...temps)} °C` : "—"]);
    rows.push(["Overall health test", health.some((d) => d.health === "failed") ? pill(true, "Failed", "", true) : "Passed"]);
  }
  if (volume.raid && volume.raid.level !== null) {
    rows.push(["RAID level", `RAID ${volume.raid.level}`]);
    const state = RAID_STATUS[volume.raid.state];
    const syncing = volume.raid.state === "syncing";
    rows.push([
      "RAID status",
      h(
        "span",
        { id: "raid-status" },
        pill(volume.raid.state === "online", state, state, volume.raid.state === "failed"),
        syncing ? ` ${volume.raid.syncProgress} %, about ${Math.ceil(volume.raid.syncTimeRemaining / 60)} min left` : "",
      ),
    ]);
  }
  rows.push(["Recording", volume.recordingPossible ? "Possible" : pill(true, volume.problem, "", true)]);
  return facts(rows);
}

function drivesCard(app, state) {
  const tbody = h("tbody");
  const area = messageArea();
  const table = h(
    "table",
    { id: "hard-drives" },
    h("caption", { class: "visually-hidden", text: "Hard drive status" }),
    h("thead", {}, h("tr", {}, ["Bay", "LED", "Status", "Serial number", "Capacity", "Temperature", "Health", ""].map((t) => h("th", { scope: "col", text: t })))),
    tbody,
  );
  const section = card("Hard drive status", area, h("div", { class: "table-wrap" }, table));
  section.id = "drives-card";
  return {
    element: section,
    render(status) {
      section.hidden = !status.drives.length;
      clear(
        tbody,
        status.drives.map((drive) => {
          const test = h("button", { type: "button" }, "Test");
          test.addEventListener("click", () =>
            busy(test, async () => {
              try {
                const result = await storage("healthTest", { slot: drive.slot });
                say(area, result.health === "passed" ? "ok" : "error", `Bay ${drive.bay}: the overall health test ${result.health}.`);
                state.reload();
              } catch (error) {
                app.fail(error, area);
              }
            }),
          );
          return h(
            "tr",
            { "data-bay": String(drive.bay) },
            h("td", { text: String(drive.bay) }),
            h("td", {}, led(drive)),
            h("td", { text: drive.status }),
            h("td", { text: drive.serialNumber || "—" }),
            h("td", { text: drive.capacity ? size(drive.capacity) : "—" }),
            h("td", { text: drive.temperature !== null && drive.temperature !== undefined ? `${drive.temperature} °C` : "—" }),
            h("td", { text: drive.health }),
            h("td", {}, drive.status === "absent" ? "" : test),
          );
        }),
      );
    },
  };
}

function volumeCard(app, state, volume) {
  const admin = RANK[app.role] >= RANK.admin;
  const area = messageArea();
  const body = h("div");
  const bar = h("progress", { max: "100", value: "0", hidden: true, "aria-label": `Progress of the ${volume.diskId} tool` });
  const title = volume.kind === "local" ? "Onboard storage" : "Network storage (bound share)";
  const section = card(title, area, body, bar);
  section.id = `volume-${volume.diskId}`;
  const controls = h("div", { class: "stack" });
  let signature = "";

  async function runJob(method, params, button) {
    await busy(button, async () => {
      try {
        const { job } = await storage(method, params);
        const done = await follow(job, bar, area);
        if (done.result === "ERROR") return;
      } catch (error) {
        app.fail(error, area);
      }
      state.reload();
    });
  }

  function toolsForm(current) {
    const local = current.kind === "local";
    const offered = (key) => {
      if (key === "raid") return state.raidLevels.length > 0;
      if (key === "encrypt") return local && !current.encrypted;
      if (key === "decrypt" || key === "changepassword") return local && current.encrypted;
      return true;
    };
    const choices = Object.entries(TOOLS).filter(([key]) => offered(key));
    const tool = h("select", { name: "tool" }, choices.map(([key, [label]]) => h("option", { value: key, text: label })));
    const hint = h("p", { class: "hint" });
    const fs = h("select", { name: "filesystem" }, current.fileSystems.map((f) => h("option", { value: f, text: f })));
    const level = h("select", { name: "raid-level" }, state.raidLevels.map((l) => h("option", { value: String(l), text: `RAID ${l}`, selected: current.raid?.level === l })));
    const fsField = field("File system", fs);
    const levelField = field("RAID level", level);
    const secret = (name) => h("input", { name, type: "password", autocomplete: "new-password", maxlength: "512" });
    const oldPassword = secret("old-password");
    const password = secret("encryption-password");
    const repeat = secret("repeat-password");
    const encryptDisk = h("input", { type: "checkbox", id: uid("encrypt-disk"), name: "encrypt-disk" });
    const encryptField = h("div", { class: "check" }, encryptDisk, h("label", { for: encryptDisk.id, text: "Encrypt the disk" }));
    const oldField = field("Current password", oldPassword);
    const passwordField = field("Password", password, "8 to 512 printable characters. Without it the recordings cannot be read.");
    const repeatField = field("Repeat password", repeat);
    const use = h("button", { type: "button", class: "primary" }, "Use tool");
    const sync = () => {
      const t = tool.value;
      hint.textContent = TOOLS[t][1];
      fsField.hidden = t !== "format";
      levelField.hidden = t !== "raid";
      encryptField.hidden = t !== "raid";
      oldField.hidden = t !== "decrypt" && t !== "changepassword";
      oldField.querySelector("label").textContent = t === "decrypt" ? "Password" : "Current password";
      const newOne = t === "encrypt" || t === "changepassword" || (t === "raid" && encryptDisk.checked);
      passwordField.hidden = !newOne;
      repeatField.hidden = !newOne;
      passwordField.querySelector("label").textContent = t === "changepassword" ? "New password" : "Password";
    };
    encryptDisk.addEventListener("change", sync);
    const repeated = () => {
      if (password.value === repeat.value) return true;
      say(area, "error", "The passwords do not match.");
      return false;
    };
    tool.addEventListener("change", sync);
    sync();
    use.addEventListener("click", async () => {
      const id = current.diskId;
      if (tool.value === "check") return runJob("check", { diskId: id }, use);
      if (tool.value === "repair") return runJob("repair", { diskId: id }, use);
      if (tool.value === "format") {
        const ok = await confirmAction("Format", `Formatting ${id} erases all its recordings. Format with ${fs.value}?`, "Format");
        if (ok) await runJob("format", { diskId: id, fileSystem: fs.value }, use);
        return;
      }
      if (tool.value === "encrypt" || tool.value === "decrypt") {
        if (tool.value === "encrypt" && !repeated()) return;
        const what = tool.value === "encrypt" ? "Encrypting" : "Decrypting";
        const ok = await confirmAction(TOOLS[tool.value][0], `${what} ${id} erases all files on it. Continue?`, "Yes");
        const secretValue = tool.value === "encrypt" ? password.value : oldPassword.value;
        if (ok) await runJob(tool.value, { diskId: id, password: secretValue }, use);
        return;
      }
      if (tool.value === "changepassword") {
        if (repeated()) await runJob("changePassword", { diskId: id, oldPassword: oldPassword.value, newPassword: password.value }, use);
        return;
      }
      if (encryptDisk.checked && !repeated()) return;
      const ok = await confirmAction(
        "Change RAID level",
        `Changing the RAID level to RAID ${level.value} reformats the disks and deletes all recordings on them. Continue?`,
        "Yes",
      );
      const params = { raidLevel: Number(level.value), confirm: true };
      if (encryptDisk.checked) params.password = password.value;
      if (ok) await runJob("changeRaidLevel", params, use);
    });
    const toolField = field("Tool", tool);
    return h(
      "div",
      { class: "stack", id: `tools-${current.diskId}` },
      h("h3", { text: "Tools" }),
      toolField,
      hint,
      fsField,
      levelField,
      encryptField,
      oldField,
      passwordField,
      repeatField,
      h("div", { class: "actions" }, use),
    );
  }

  function settings(current) {
    const parts = [];
    const protect = h("input", { type: "checkbox", id: uid("protect"), checked: current.writeProtected, disabled: !admin });
    protect.addEventListener("change", async () => {
      try {
        await storage("setWriteProtect", { diskId: current.diskId, enabled: protect.checked });
        say(area, "ok", protect.checked ? "Write protection is on: recording to this storage has stopped." : "Write protection is off.");
      } catch (error) {
        protect.checked = !protect.checked;
        app.fail(error, area);
      }
      state.reload();
    });
    parts.push(h("div", { class: "check" }, protect, h("label", { for: protect.id, text: "Write protect" })));
    const days = h("input", { type: "number", min: "0", max: "7000", value: String(current.retentionDays), name: "retention", disabled: !admin });
    const save = h("button", { type: "button" }, "Save");
    save.addEventListener("click", () =>
      busy(save, async () => {
        try {
          await storage("setRetention", { diskId: current.diskId, maxAgeDays: Number(days.value) });
          say(area, "ok", Number(days.value) ? `Recordings are kept for ${days.value} days.` : "Recordings are kept until the storage is full.");
        } catch (error) {
          app.fail(error, area);
        }
      }),
    );
    parts.push(h("div", { class: "inline-form" }, field("Retention time (days)", days, "0 keeps recordings until the storage is full; then the oldest go first."), admin ? save : null));
    if (admin) {
      const mount = h("button", { type: "button" }, current.mounted ? "Unmount" : "Mount");
      // An encrypted volume mounts with its password (after a restart or a reset it waits for it).
      const needsPassword = current.encrypted && !current.mounted;
      const mountPassword = h("input", { name: "mount-password", type: "password", autocomplete: "current-password" });
      mount.addEventListener("click", () => {
        const params = { diskId: current.diskId };
        if (needsPassword) params.password = mountPassword.value;
        runJob(current.mounted ? "unmount" : "mount", params, mount);
      });
      if (needsPassword) parts.push(h("div", { class: "inline-form" }, field("Encryption password", mountPassword), mount));
      else parts.push(h("div", { class: "actions" }, mount));
    }
    return h("div", { class: "stack" }, parts);
  }

  return {
    element: section,
    render(status) {
      const current = status.volumes.find((v) => v.diskId === volume.diskId);
      if (!current) return;
      // The network volume is shown once a share is bound to it.
      section.hidden = current.kind === "network" && !(status.networkShares || []).some((s) => s.bound);
      const drives = current.kind === "local" ? status.drives : [];
      if (bar.hidden) {
        clear(body, volumeFacts(current, drives));
        if (current.kind === "network" && current.network) {
          const n = current.network;
          body.append(
            facts([
              ["Share", n.online ? pill(true, `Reachable (SMB ${n.smbVersion})`, "") : pill(true, n.error || "Not reachable", "", true)],
              ["Waiting to be copied", size(n.backlogBytes)],
              ["Copied", `${size(n.copiedBytes)}${n.copyMBps ? ` at ${n.copyMBps} MB/s` : ""}`],
            ]),
          );
        }
        // Rebuild the forms only when what they show changed: a refresh must not undo a choice.
        const shape = JSON.stringify([current.mounted, current.writeProtected, current.retentionDays, current.status, current.raid?.level, current.encrypted]);
        if (shape !== signature) {
          signature = shape;
          clear(controls, settings(current), admin && current.status !== "disconnected" ? toolsForm(current) : null);
        }
        if (!controls.isConnected) body.after(controls);
      }
    },
  };
}

function networkCard(app, state) {
  const admin = RANK[app.role] >= RANK.admin;
  const area = messageArea();
  const list = h("div");
  const add = h("button", { type: "button", class: "primary" }, "Add network storage");
  const section = card("Network shares", h("p", { class: "muted", text: "Record to a folder on a NAS over SMB. Each device gets its own folder on the share." }), area, list);
  section.id = "network-shares";
  if (admin) section.querySelector("h2").after(h("div", { class: "card-tools" }, add));
  add.addEventListener("click", () => shareDialog(app, state, area));

  return {
    element: section,
    render(status) {
      section.hidden = status.networkShares === null;
      if (!status.networkShares) return;
      if (!status.networkShares.length) {
        clear(list, h("p", { class: "muted", text: "No network storage has been added." }));
        return;
      }
      clear(
        list,
        status.networkShares.map((share) => {
          const buttons = [];
          const act = (label, method, params, confirmText) => {
            const button = h("button", { type: "button" }, label);
            button.addEventListener("click", async () => {
              if (confirmText && !(await confirmAction(label, confirmText, label))) return;
              await busy(button, async () => {
                try {
                  const data = await storage(method, params);
                  if (data.job) {
                    const bar = h("progress", { max: "100", value: "0" });
                    button.after(bar);
                    await follow(data.job, bar, area);
                    bar.remove();
                  } else say(area, "ok", `${label}: done.`);
                } catch (error) {
                  app.fail(error, area);
                }
                state.reload();
              });
            });
            buttons.push(button);
          };
          act("Test connection", "testNetworkShare", { shareId: share.id });
          if (admin) {
            if (share.bound) act("Unbind", "unbindNetworkShare", { shareId: share.id });
            else act("Bind", "bindNetworkShare", { shareId: share.id });
            act("Remove", "removeNetworkShare", { shareId: share.id }, "Unmount, unbind and remove this network share? Its settings are removed; footage on the share stays.");
          }
          return h(
            "div",
            { class: "param-group", "data-share": share.id },
            facts([
              ["Name", share.nicename],
              ["Address", `//${share.address}/${share.share}`],
              ["User", share.user || "—"],
              ["SMB version", share.version === "auto" ? "Auto" : share.version],
              ["Bound", share.bound ? "Yes (NetworkShare)" : "No"],
            ]),
            h("div", { class: "actions" }, buttons),
          );
        }),
      );
    },
  };
}

async function shareDialog(app, state, outerArea) {
  const address = h("input", { name: "address", required: true, placeholder: "nas.example.com" });
  const share = h("input", { name: "share", required: true });
  const user = h("input", { name: "user", autocomplete: "off" });
  const password = h("input", { name: "share-password", type: "password", autocomplete: "new-password" });
  const version = h("select", { name: "smb-version" }, state.smbVersions.map((v) => h("option", { value: v, text: v === "auto" ? "Auto" : `SMB ${v}` })));
  const noTest = h("input", { type: "checkbox", id: uid("notest"), name: "no-test" });
  const area = messageArea();
  const content = h(
    "div",
    { class: "stack" },
    field("Address", address, "The IP address or host name of the NAS. Windows SMB/CIFS names are not supported."),
    field("Network share", share, "The name of the shared folder on the server."),
    field("User", user, "To log in to a domain, type DOMAIN\\username."),
    field("Password", password),
    field("SMB version", version, "Auto tries the secure versions SMB 3.1.1, 3.02, 3.0 and 2.1."),
    h("div", { class: "check" }, noTest, h("label", { for: noTest.id, text: "Add share without testing" })),
    area,
  );
  await modal({
    title: "Add network storage",
    content,
    buttons: [
      { label: "Cancel", value: "cancel" },
      { label: "Add", value: "add", class: "primary" },
    ],
    onSubmit: async () => {
      if (!address.value || !share.value) {
        say(area, "error", "Enter the address and the network share.");
        return false;
      }
      say(area, "info", noTest.checked ? "Adding…" : "Testing the connection…");
      try {
        await storage("addNetworkShare", {
          share: { nicename: share.value, address: address.value, share: share.value, user: user.value, password: password.value, version: version.value },
          addWithoutTesting: noTest.checked,
          bind: true,
        });
      } catch (error) {
        say(area, "error", error.message);
        return false;
      }
      say(outerArea, "ok", "The network share was added and bound.");
      state.reload();
      return true;
    },
  });
}

export default async function storagePage(container, app) {
  const area = messageArea();
  container.append(area);
  const first = await storage("getStatus");
  const state = { raidLevels: first.raidLevels, smbVersions: first.smbVersions, reload: () => load() };
  const volumes = first.volumes.map((v) => volumeCard(app, state, v));
  const drives = drivesCard(app, state);
  const shares = networkCard(app, state);
  const local = volumes.filter((_, i) => first.volumes[i].kind === "local");
  const remote = volumes.filter((_, i) => first.volumes[i].kind === "network");
  // One card per row: the drive table and the tools need the width.
  container.append(h("div", { class: "stack" }, local.map((v) => v.element), drives.element, shares.element, remote.map((v) => v.element)));

  function render(status) {
    for (const volume of volumes) volume.render(status);
    drives.render(status);
    shares.render(status);
  }
  async function load() {
    try {
      render(await storage("getStatus"));
    } catch (error) {
      app.fail(error, area);
    }
  }
  render(first);
  const timer = setInterval(() => {
    if (!container.isConnected) clearInterval(timer);
    else load();
  }, REFRESH_MS);
}

/** The Status page's storage card: each volume's state, space and RAID in one glance. */
export function storageCard(app) {
  const body = h("div");
  const section = card("Storage", body);
  section.id = "storage-card";
  section.hidden = true;
  storage("getStatus")
    .then((status) => {
      section.hidden = false;
      clear(
        body,
        facts(
          status.volumes.map((v) => [
            v.kind === "local" ? "Onboard" : "Network share",
            h(
              "span",
              {},
              pill(v.status === "OK" && v.recordingPossible, STATUS[v.status] || v.status, v.problem || STATUS[v.status] || v.status, v.status === "failed"),
              v.totalBytes ? ` ${size(v.freeBytes)} free of ${size(v.totalBytes)}` : "",
              v.raid && v.raid.level !== null ? `, RAID ${v.raid.level} ${RAID_STATUS[v.raid.state]}` : "",
            ),
          ]),
        ),
        h("p", { class: "muted" }, h("a", { href: "#/storage", text: "Storage" })),
      );
    })
    .catch((error) => {
      if (error.status === 401) app.fail(error);
      // other failures: the device has no storage (the card stays hidden)
    });
  return section;
}
