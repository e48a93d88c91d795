// Events > Schedules: schedules (active between two times on chosen days) and pulses (an event
// that repeats), for rules to use as conditions. Through the VAPIX event service (soap.js).

import * as api from "./api.js";
import * as soap from "./soap.js";
import { RANK, busy, card, clear, confirmAction, field, h, messageArea, modal, numberInput, pad, say, select, uid } from "./ui.js";

const DAYS = [
  ["MO", "Mon"],
  ["TU", "Tue"],
  ["WE", "Wed"],
  ["TH", "Thu"],
  ["FR", "Fri"],
  ["SA", "Sat"],
  ["SU", "Sun"],
];
const UNITS = { MINUTELY: ["minute", "minutes"], HOURLY: ["hour", "hours"], DAILY: ["day", "days"], SECONDLY: ["second", "seconds"] };

function icalFields(ical) {
  const fields = {};
  for (const line of ical.split(/\r?\n|\\n/)) {
    const m = /^([A-Z-]+)(?:;[^:]*)?:(.*)$/.exec(line.trim());
    if (m) fields[m[1]] = m[2].trim();
  }
  return fields;
}

function clockOf(stamp) {
  const m = /T(\d\d)(\d\d)/.exec(stamp || "");
  return m ? `${m[1]}:${m[2]}` : "";
}

function stampDate(stamp) {
  const m = /^(\d{4})(\d\d)(\d\d)(?:T(\d\d)(\d\d)(\d\d)?)?/.exec(stamp || "");
  return m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0), +(m[6] || 0))) : null;
}

/** A schedule's iCalendar text in words: "Every day 18:00–18:01", "Every 5 minutes". */
export function describeSchedule(ical) {
  const f = icalFields(ical);
  const rule = Object.fromEntries((f.RRULE || "").split(";").filter(Boolean).map((p) => p.split("=")));
  const start = clockOf(f.DTSTART);
  let end = "";
  const from = stampDate(f.DTSTART);
  if (f.DTEND) end = clockOf(f.DTEND);
  else if (f.DURATION && from) {
    const s = soap.durationSeconds(f.DURATION.replace(/^P(\d+)W/, (_, w) => `P${w * 7}D`));
    const to = new Date(from.getTime() + s * 1000);
    end = `${pad(to.getUTCHours())}:${pad(to.getUTCMinutes())}`;
  }
  const pulse = !f.DTEND && !f.DURATION;
  const interval = Number(rule.INTERVAL || 1);
  if (pulse) {
    const unit = UNITS[rule.FREQ];
    if (unit) {
      const every = interval === 1 ? `Every ${unit[0]}` : `Every ${interval} ${unit[1]}`;
      return start && start !== "00:00" ? `${every} from ${start}` : every;
    }
    if (!rule.FREQ && from) return `Once, ${from.toISOString().slice(0, 10)} ${start}`;
  }
  let days = "";
  if (rule.FREQ === "DAILY" && !rule.BYDAY) days = interval === 1 ? "Every day" : `Every ${interval} days`;
  else if (rule.FREQ === "WEEKLY" || rule.BYDAY) {
    const by = (rule.BYDAY || "").split(",");
    const key = by.join(",");
    days =
      key === "MO,TU,WE,TH,FR" ? "Weekdays" : key === "SA,SU" ? "Weekends" : by.length === 7 ? "Every day" : by.map((d) => DAYS.find((x) => x[0] === d)?.[1] || d).join(", ");
  } else if (!rule.FREQ && from) days = `Once, ${from.toISOString().slice(0, 10)}`;
  if (days && start) return `${days} ${start}–${end}`;
  return f.RRULE ? `${start}–${end}, ${f.RRULE}` : ical;
}

async function deviceDate() {
  try {
    const info = await api.timeInfo();
    const m = /^(\d{4})-(\d\d)-(\d\d)/.exec(info.localDateTime || "");
    if (m) return `${m[1]}${m[2]}${m[3]}`;
  } catch {
    // the browser's date will do
  }
  const d = new Date();
  return `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}`;
}

function nextDay(date) {
  const d = new Date(Date.UTC(+date.slice(0, 4), +date.slice(4, 6) - 1, +date.slice(6, 8) + 1));
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}`;
}

async function scheduleDialog(app) {
  const name = h("input", { maxlength: "64", autocomplete: "off" });
  const group = uid("kind");
  const kinds = [
    ["schedule", "Schedule", "Active between a start and an end time on the chosen days."],
    ["pulse", "Pulse", "A short event that repeats, for example every 5 minutes. Use it as a trigger."],
  ].map(([value, label, hint]) => {
    const hintId = uid("hint");
    const radio = h("input", { type: "radio", name: group, value, id: uid("kind"), "aria-describedby": hintId });
    radio.checked = value === "schedule";
    return {
      radio,
      element: h("div", { class: "check" }, radio, h("div", {}, h("label", { for: radio.id, text: label }), h("span", { class: "hint", id: hintId, text: hint }))),
    };
  });
  const days = DAYS.map(([code, label]) => {
    const box = h("input", { type: "checkbox", id: uid("day"), value: code });
    box.checked = true;
    return { box, element: h("label", { class: "day", for: box.id }, box, label) };
  });
  const start = h("input", { type: "time", value: "08:00", required: true });
  const end = h("input", { type: "time", value: "17:00", required: true });
  const scheduleFields = h(
    "div",
    {},
    h("fieldset", { class: "days" }, h("legend", { text: "Days" }), days.map((d) => d.element)),
    h("div", { class: "row-fields" }, field("Start time", start), field("End time", end, "An end before the start ends the next day.")),
  );
  const every = numberInput(5, 1, 1000);
  const unit = select({}, [["MINUTELY", "Minutes"], ["HOURLY", "Hours"], ["DAILY", "Days"]]);
  const from = h("input", { type: "time", value: "00:00" });
  const pulseFields = h("div", { class: "row-fields" }, field("Repeat every", every), field("Unit", unit), field("Starting at", from));
  const sync = () => {
    const pulse = kinds[1].radio.checked;
    scheduleFields.hidden = pulse;
    pulseFields.hidden = !pulse;
  };
  kinds.forEach((k) => k.radio.addEventListener("change", sync));
  sync();
  const area = messageArea();
  const content = h(
    "div",
    { class: "stack" },
    field("Name", name),
    h("fieldset", {}, h("legend", { text: "Type" }), kinds.map((k) => k.element)),
    scheduleFields,
    pulseFields,
    area,
  );
  const onSubmit = async () => {
    const fail = (control, message) => {
      if (control) {
        control.setAttribute("aria-invalid", "true");
        control.focus();
      }
      say(area, "error", message);
      return false;
    };
    content.querySelectorAll("[aria-invalid]").forEach((c) => c.removeAttribute("aria-invalid"));
    if (!name.value.trim()) return fail(name, "Enter a name for the schedule.");
    const date = await deviceDate();
    const lines = ["BEGIN:VEVENT"];
    if (kinds[1].radio.checked) {
      if (!/^\d+$/.test(every.value) || Number(every.value) < 1) return fail(every, "Repeat every 1 or more.");
      const t = (from.value || "00:00").replace(":", "");
      lines.push(`DTSTART:${date}T${t}00`);
      lines.push(`RRULE:FREQ=${unit.value};INTERVAL=${Number(every.value)}`);
    } else {
      const chosen = days.filter((d) => d.box.checked).map((d) => d.box.value);
      if (!chosen.length) return fail(days[0].box, "Choose at least one day.");
      if (!start.value) return fail(start, "Enter the start time.");
      if (!end.value) return fail(end, "Enter the end time.");
      if (start.value === end.value) return fail(end, "The end time must differ from the start time.");
      const s = start.value.replace(":", "");
      const e = end.value.replace(":", "");
      lines.push(`DTSTART:${date}T${s}00`);
      lines.push(`DTEND:${end.value > start.value ? date : nextDay(date)}T${e}00`);
      lines.push(chosen.length === 7 ? "RRULE:FREQ=DAILY" : `RRULE:FREQ=WEEKLY;BYDAY=${chosen.join(",")}`);
    }
    lines.push("END:VEVENT");
    try {
      await soap.addScheduledEvent(name.value.trim(), lines.join("\n"));
    } catch (error) {
      app.fail(error, area);
      return false;
    }
    return true;
  };
  const result = await modal({
    title: "Add a schedule",
    content,
    onSubmit,
    buttons: [
      { label: "Cancel", value: "cancel" },
      { label: "Save", value: "save", class: "primary" },
    ],
  });
  return result === "save";
}

export async function schedulesPanel(app, panel) {
  const admin = RANK[app.role] >= RANK.admin;
  const area = messageArea();
  const body = h("div", { class: "table-wrap" }, h("p", { class: "muted", text: "Loading…" }));
  const add = h("button", { type: "button", class: "primary", id: "add-schedule" }, "+ Add a schedule");
  async function load() {
    let schedules;
    try {
      schedules = await soap.scheduledEvents();
    } catch (error) {
      app.fail(error, area);
      return;
    }
    if (!schedules.length) {
      clear(body, h("p", { class: "muted", text: "There are no schedules or pulses yet." }));
      return;
    }
    const rows = schedules.map((s) => {
      const f = icalFields(s.ical);
      const pulse = !f.DTEND && !f.DURATION;
      const tools = h("td", { class: "row-actions" });
      if (admin) {
        const remove = h("button", { type: "button", class: "danger-text", "aria-label": `Delete schedule ${s.name}` }, "Delete");
        remove.addEventListener("click", async () => {
          if (!(await confirmAction("Delete schedule", `Delete the ${pulse ? "pulse" : "schedule"} ${s.name}?`, "Delete"))) return;
          try {
            await busy(remove, () => soap.removeScheduledEvent(s.id));
            say(area, "ok", `${s.name} is deleted.`);
          } catch (error) {
            app.fail(error, area);
          }
          await load();
        });
        tools.append(remove);
      }
      return h(
        "tr",
        { "data-schedule": s.name },
        h("th", { scope: "row", text: s.name }),
        h("td", { text: pulse ? "Pulse" : "Schedule" }),
        h("td", { text: describeSchedule(s.ical), title: s.ical }),
        h("td", {}, h("code", { text: s.id })),
        tools,
      );
    });
    clear(
      body,
      h(
        "table",
        { id: "schedules-table" },
        h("caption", { text: "Times are the device's local time." }),
        h("thead", {}, h("tr", {}, ["Name", "Type", "When", "ID", ""].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, rows),
      ),
    );
  }
  add.addEventListener("click", async () => {
    if (await scheduleDialog(app)) {
      await load();
      say(area, "ok", "The schedule is saved.");
    }
  });
  const section = card(
    "Schedules",
    h("p", { class: "muted", text: "Schedules and pulses can be used as conditions in rules." }),
    area,
    body,
  );
  if (admin) section.querySelector("h2").after(h("div", { class: "card-tools" }, add));
  panel.append(section);
  await load();
}
