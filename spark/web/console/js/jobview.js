// The pieces of a job's page, each drawn from what the API answered: its facts, JSON
// sections, the events timeline, the artifacts with their downloads, and its steps.

import { blobUrl } from "./api.js";
import { h } from "./dom.js";
import { consoleUrl } from "./router.js";
import { bytes, codeView, jobLink, progressBar, stateBadge, when } from "./ui.js";

/** A titled card of the page, named for assistive technology by its title. */
export function card(title, ...children) {
  return h("section", { class: "card", "aria-label": title }, h("h2", {}, title), ...children);
}

/** Pretty JSON, with long multi-line strings (code, diffs, logs) lifted out to be read as text. */
function splitText(value) {
  const texts = [];
  if (!value || typeof value !== "object" || Array.isArray(value)) return { rest: value, texts };
  const rest = {};
  for (const [key, item] of Object.entries(value)) {
    if (typeof item === "string" && item.includes("\n")) texts.push([key, item]);
    else rest[key] = item;
  }
  return { rest, texts };
}

export function jsonSection(title, value) {
  const { rest, texts } = splitText(value);
  return card(
    title,
    h("pre", { class: "json" }, JSON.stringify(rest, null, 2)),
    texts.map(([key, text]) => h("div", { class: "text-field" }, h("h3", {}, key), codeView(text))),
  );
}

export function summary(job, projectName) {
  const rows = [
    ["Id", h("code", {}, job.id)],
    ["Session", job.session_id],
    ["Project", job.project_id ? h("a", { href: consoleUrl("files", [], { project: job.project_id }) }, projectName ?? job.project_id) : "none"],
    ["Parent", job.parent_id ? h("a", { href: consoleUrl("jobs", [job.parent_id]) }, job.parent_id) : null],
    ["Priority", String(job.priority)],
    ["Attempts", String(job.attempts)],
    ["Created", when(job.created_at)],
    ["Started", when(job.started_at)],
    ["Finished", when(job.finished_at)],
  ];
  return h(
    "dl",
    { class: "facts" },
    rows.filter(([, value]) => value !== null && value !== "").map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]),
  );
}

function eventItem(event) {
  const data = event.data && Object.keys(event.data).length ? JSON.stringify(event.data) : "";
  return h(
    "li",
    { class: `event event-${event.type}`, dataset: { type: event.type } },
    when(event.ts),
    " ",
    h("strong", {}, event.type),
    data ? h("code", { class: "data" }, data) : null,
  );
}

/** The events timeline: each event once, in time order, however it arrived. */
export class Timeline {
  constructor() {
    this.seen = new Set();
    this.list = h("ol", { class: "timeline", "aria-label": "Events" });
    this.empty = h("p", { class: "muted" }, "No events yet.");
  }

  add(event) {
    if (this.seen.has(event.id)) return;
    this.seen.add(event.id);
    this.empty.hidden = true;
    const item = eventItem(event);
    const after = [...this.list.children].find((li) => li.dataset.ts > event.ts);
    item.dataset.ts = event.ts;
    if (after) after.before(item);
    else this.list.append(item);
  }
}

async function download(artifact, signal, button) {
  button.disabled = true;
  try {
    const url = await blobUrl(artifact.href, signal);
    const link = h("a", { href: url, download: artifact.name });
    document.body.append(link);
    link.click();
    link.remove();
    // the browser has taken the blob for the download once the click has been handled
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } finally {
    button.disabled = false;
  }
}

export function artifactList(items, signal, onError) {
  if (!items.length) return h("p", { class: "muted" }, "No artifacts.");
  return h(
    "table",
    { class: "artifacts", "aria-label": "Artifacts" },
    h("thead", {}, h("tr", {}, ["Name", "Size", "Type", ""].map((t) => h("th", { scope: "col" }, t)))),
    h(
      "tbody",
      {},
      items.map((artifact) => {
        const button = h("button", { type: "button", "aria-label": `Download ${artifact.name}` }, "Download");
        button.addEventListener("click", () => download(artifact, signal, button).catch(onError));
        return h(
          "tr",
          {},
          h("td", {}, artifact.name),
          h("td", {}, bytes(artifact.size)),
          h("td", {}, artifact.content_type ?? ""),
          h("td", {}, button),
        );
      }),
    ),
  );
}

export function childList(children) {
  if (!children.length) return null;
  return card(
    "Steps",
    h(
      "ul",
      { class: "children" },
      children.map((child) => h("li", {}, jobLink(child), " ", stateBadge(child.state), " ", progressBar(child.progress, child.state))),
    ),
  );
}
