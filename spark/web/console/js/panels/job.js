// One job: what it was asked (params), where it is (state, progress, events as they happen),
// what it gave (result, artifacts, children) or why it failed (error), and its log for the
// kinds that run Unity on the farm. Everything updates from the shared live feed.

import { blobUrl, getJson, postJson } from "../api.js";
import { h, replace } from "../dom.js";
import { followLog } from "../log.js";
import { consoleUrl } from "../router.js";
import { TERMINAL, bytes, codeView, confirmDialog, errorBox, jobLink, progressBar, stateBadge, when } from "../ui.js";

const LOGGED = new Set(["unity_build", "run_tests", "compile_check"]);
// the events of a burst cost one re-read of the job
const COALESCE_MS = 150;

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

function jsonSection(title, value) {
  const { rest, texts } = splitText(value);
  return h(
    "section",
    { class: "card", "aria-label": title },
    h("h2", {}, title),
    h("pre", { class: "json" }, JSON.stringify(rest, null, 2)),
    texts.map(([key, text]) => h("div", { class: "text-field" }, h("h3", {}, key), codeView(text))),
  );
}

function summary(job, projectName) {
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
class Timeline {
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

function artifactList(items, signal, onError) {
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

function childList(children) {
  if (!children.length) return null;
  return h(
    "section",
    { class: "card", "aria-label": "Steps" },
    h("h2", {}, "Steps"),
    h(
      "ul",
      { class: "children" },
      children.map((child) => h("li", {}, jobLink(child), " ", stateBadge(child.state), " ", progressBar(child.progress, child.state))),
    ),
  );
}

export default {
  title: "Job",
  async render(ctx, route) {
    const id = route.rest[0];
    const controller = new AbortController();
    const { signal } = controller;
    const base = `/v1/jobs/${encodeURIComponent(id ?? "")}`;
    let job = await getJson(base, null, signal);

    const head = h("div", { class: "job-head" });
    const problem = h("div", { class: "job-problem" });
    const errorSlot = h("div");
    const resultSlot = h("div");
    const childrenSlot = h("div");
    const artifactsSlot = h("div");
    const timeline = new Timeline();
    const actionError = h("div");
    let logPre = null;
    let childIds = new Set();
    let projectName = null;

    async function cancel(button) {
      const sure = await confirmDialog("Cancel this job?", h("p", {}, `${job.kind} ${job.id}`));
      if (!sure) return;
      button.disabled = true;
      replace(actionError);
      try {
        show(await postJson(`${base}/cancel`, {}));
      } catch (error) {
        replace(actionError, errorBox(error));
        button.disabled = false;
      }
    }

    function drawHead() {
      const cancelButton = TERMINAL.has(job.state)
        ? null
        : h("button", { type: "button", class: "cancel", on: { click: (e) => cancel(e.currentTarget) } }, "Cancel");
      replace(
        head,
        h("h1", {}, job.kind, " ", h("span", { class: "muted" }, job.id.slice(0, 8))),
        h("div", { class: "toolbar" }, stateBadge(job.state), progressBar(job.progress, job.state), cancelButton),
        actionError,
        summary(job, projectName),
      );
      replace(errorSlot, job.error ? h("section", { class: "card", "aria-label": "Error" }, h("h2", {}, "Error"), errorBox(job.error)) : null);
      replace(resultSlot, job.result ? jsonSection("Result", job.result) : null);
    }

    async function loadChildren() {
      const page = await getJson("/v1/jobs", { parent_id: job.id, limit: 100 }, signal);
      childIds = new Set(page.items.map((c) => c.id));
      replace(childrenSlot, childList(page.items.reverse()));
    }

    async function loadArtifacts() {
      const { items } = await getJson(`${base}/artifacts`, null, signal);
      replace(
        artifactsSlot,
        h(
          "section",
          { class: "card", "aria-label": "Artifacts" },
          h("h2", {}, "Artifacts"),
          artifactList(items, signal, (error) => replace(problem, errorBox(error))),
        ),
      );
    }

    async function loadProjectName() {
      if (!job.project_id) return;
      projectName = (await getJson(`/v1/projects/${job.project_id}`, null, signal)).name;
      drawHead();
    }

    async function loadEvents() {
      const { items } = await getJson(`${base}/events`, null, signal);
      for (const event of items) timeline.add(event);
    }

    function show(next) {
      const ended = !TERMINAL.has(job.state) && TERMINAL.has(next.state);
      job = next;
      drawHead();
      if (ended) guard(loadArtifacts());
    }

    /** A failed background read shows as a note; the page stays as last read. */
    function guard(promise) {
      return promise.then(
        () => replace(problem),
        (error) => {
          if (!signal.aborted) replace(problem, errorBox(error));
        },
      );
    }

    // re-read the job (and its steps) once per burst of events
    let timer = null;
    let childrenToo = false;
    function reread(children) {
      childrenToo ||= children;
      if (timer) return;
      timer = setTimeout(() => {
        timer = null;
        const steps = childrenToo;
        childrenToo = false;
        guard(
          (async () => {
            show(await getJson(base, null, signal));
            if (steps) await loadChildren();
          })(),
        );
      }, COALESCE_MS);
    }

    // subscribed before the history is read, so an event between the two is not missed
    const unsubscribe = ctx.feed.subscribe(
      (event) => {
        if (event.job_id === job.id) {
          timeline.add(event);
          reread(false);
        } else if (childIds.has(event.job_id) || !TERMINAL.has(job.state)) {
          // a running job's steps start as it goes: any other job's event may be a new one
          reread(true);
        }
      },
      () => {
        reread(true);
        guard(loadEvents());
      },
    );

    drawHead();
    if (LOGGED.has(job.kind)) {
      // a job canceled before it ran has no log: say so rather than show an empty box
      const onDone = (lines) => lines || logPre.append(h("span", { class: "muted" }, "No log lines."));
      logPre = followLog(job.id, { projectId: job.project_id, signal, onDone });
    }
    replace(
      ctx.main,
      h("p", {}, h("a", { href: consoleUrl("activity") }, "← Activity")),
      head,
      problem,
      errorSlot,
      logPre ? h("section", { class: "card", "aria-label": "Log" }, h("h2", {}, "Log"), logPre) : null,
      resultSlot,
      artifactsSlot,
      childrenSlot,
      h("section", { class: "card", "aria-label": "Events" }, h("h2", {}, "Events"), timeline.list, timeline.empty),
      jsonSection("Params", job.params),
    );
    await guard(Promise.all([loadEvents(), loadChildren(), loadArtifacts(), loadProjectName()]));
    // anything that happened between the first read and the subscription
    reread(true);

    return () => {
      controller.abort();
      clearTimeout(timer);
      unsubscribe();
    };
  },
};
