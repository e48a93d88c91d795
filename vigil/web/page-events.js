// Events: the tab shell of rules, schedules, recipients and manual triggers (virtual inputs),
// each in its own module (events-*.js). Everything goes through the VAPIX event and action
// services (soap.js). Operators may look and use manual triggers; administrators change things,
// as the API says.

import * as api from "./api.js";
import { recipientsPanel } from "./events-recipients.js";
import { rulesPanel } from "./events-rules.js";
import { schedulesPanel } from "./events-schedules.js";
import { VIRTUAL_TOPIC, triggersPanel } from "./events-triggers.js";
import * as soap from "./soap.js";
import { messageArea, pageTabs } from "./ui.js";

// -- the page -------------------------------------------------------------------------------------------
export default async function eventsPage(container, app) {
  const area = messageArea();
  container.append(area);
  let topics = [];
  try {
    topics = await soap.eventInstances();
  } catch (error) {
    app.fail(error, area);
  }
  const virtual = topics.find((t) => t.topic === VIRTUAL_TOPIC);
  const tabsSpec = [
    ["rules", "Rules", (panel) => rulesPanel(app, panel)],
    ["schedules", "Schedules", (panel) => schedulesPanel(app, panel)],
    ["recipients", "Recipients", (panel) => recipientsPanel(app, panel)],
  ];
  if (virtual) tabsSpec.push(["triggers", "Manual triggers", (panel) => triggersPanel(app, panel, virtual)]);
  const stop = await pageTabs(container, "Events", tabsSpec);
  api.whenGone(container, stop);
}
