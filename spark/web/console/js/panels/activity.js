// Activity: the user's jobs, newest first, kept current by the shared live feed. Filters live
// in the URL query, so a reload, a shared link or the back button shows the same list.

import { getJson, submit } from "../api.js";
import { h, replace } from "../dom.js";
import { JobTable } from "../jobtable.js";
import { consoleUrl } from "../router.js";
import { errorBox, field, jobLink, select } from "../ui.js";

export const KINDS = [
  "generate_script",
  "apply_patch",
  "apply_preset",
  "generate_asset",
  "render_preview",
  "unity_build",
  "compile_check",
  "export_package",
  "run_tests",
];
export const STATES = ["queued", "running", "succeeded", "failed", "canceled", "timed_out"];
const PAGE = 100;
// events of one job within this window cost one re-read
const COALESCE_MS = 150;
// more jobs than this in one batch are re-read with one list request instead of one each
const BATCH_AS_LIST = 6;

/** The filters of a route's query, under the API's names. */
function filtersOf(query) {
  return {
    kind: query.get("kind") ?? "",
    state: query.get("state") ?? "",
    project_id: query.get("project") ?? "",
    session_id: query.get("session") ?? "",
  };
}

function matches(job, filters) {
  return (
    (!filters.kind || job.kind === filters.kind) &&
    (!filters.state || job.state === filters.state) &&
    (!filters.project_id || job.project_id === filters.project_id) &&
    (!filters.session_id || job.session_id === filters.session_id)
  );
}

/**
 * Re-reads jobs the feed names, at most one batch in flight: the events of a burst are
 * gathered for COALESCE_MS, then each job is read once (or the first page of the list once,
 * when many jobs moved together).
 */
class Refresher {
  constructor(readOne, readMany) {
    this.readOne = readOne;
    this.readMany = readMany;
    this.pending = new Set();
    this.timer = null;
    this.running = false;
  }

  want(id) {
    this.pending.add(id);
    this.schedule();
  }

  schedule() {
    if (this.timer || this.running || !this.pending.size) return;
    this.timer = setTimeout(() => this.flush(), COALESCE_MS);
  }

  async flush() {
    this.timer = null;
    const ids = [...this.pending];
    this.pending.clear();
    this.running = true;
    try {
      if (ids.length > BATCH_AS_LIST) await this.readMany(ids);
      else await Promise.all(ids.map((id) => this.readOne(id)));
    } finally {
      this.running = false;
      this.schedule();
    }
  }

  stop() {
    clearTimeout(this.timer);
    this.pending.clear();
  }
}

/** The inputs of the generate form, by the name of what they hold. */
function scriptInputs(projects) {
  return {
    prompt: h("textarea", { name: "prompt", required: true, minlength: "10", rows: "3" }),
    className: h("input", { name: "class_name", required: true, pattern: "[A-Z][A-Za-z0-9_]*", spellcheck: "false" }),
    namespace: h("input", { name: "namespace", pattern: "[A-Za-z][A-Za-z0-9_.]*", spellcheck: "false", placeholder: "none" }),
    project: select([["", "No project"], ...projects.map((p) => [p.id, p.name])], "", { name: "project" }),
    write: h("input", { type: "checkbox", name: "write_to_project" }),
  };
}

/** The job's params as the form holds them; an empty namespace is left out, not sent as "". */
function scriptParams({ prompt, className, namespace, write }) {
  const params = { prompt: prompt.value, class_name: className.value.trim(), write_to_project: write.checked };
  if (namespace.value.trim()) params.namespace = namespace.value.trim();
  return params;
}

/** Submit the form's job; the status line links to it or says why it was refused. */
async function sendScript(inputs, status, button, onSubmitted) {
  button.disabled = true;
  replace(status);
  try {
    const project = inputs.project.value;
    const job = await submit("generate_script", scriptParams(inputs), project ? { project_id: project } : {});
    replace(status, "Submitted ", jobLink(job));
    onSubmitted(job);
  } catch (error) {
    replace(status, errorBox(error));
  } finally {
    button.disabled = false;
  }
}

/** The form that submits a generate_script job. */
function submitForm(projects, onSubmitted) {
  const inputs = scriptInputs(projects);
  const status = h("div", { class: "submit-status", role: "status" });
  const button = h("button", { type: "submit", class: "primary" }, "Submit");
  const send = (event) => {
    event.preventDefault();
    sendScript(inputs, status, button, onSubmitted);
  };
  return h(
    "form",
    { class: "card submit-script", "aria-label": "Generate a script", on: { submit: send } },
    h("h2", {}, "Generate a script"),
    field("Prompt", inputs.prompt, "What the script should do (at least 10 characters)."),
    h(
      "div",
      { class: "toolbar" },
      field("Class name", inputs.className),
      field("Namespace", inputs.namespace),
      field("Project", inputs.project),
      h("label", { class: "check" }, inputs.write, " Write to project"),
      button,
    ),
    status,
  );
}

/** The filter bar; onChange(next filters) when the user changes one. */
function filterBar(filters, projects, onChange) {
  const kind = select([["", "All kinds"], ...KINDS.map((k) => [k, k])], filters.kind, { name: "kind" });
  const state = select([["", "All states"], ...STATES.map((s) => [s, s.replace("_", " ")])], filters.state, {
    name: "state",
  });
  const known = projects.some((p) => p.id === filters.project_id);
  const projectOptions = [["", "All projects"], ...projects.map((p) => [p.id, p.name])];
  if (filters.project_id && !known) projectOptions.push([filters.project_id, filters.project_id]);
  const project = select(projectOptions, filters.project_id, { name: "project" });
  const session = h("input", { name: "session", value: filters.session_id, spellcheck: "false", placeholder: "any" });
  const read = () => ({ kind: kind.value, state: state.value, project_id: project.value, session_id: session.value.trim() });
  const changed = () => onChange(read());
  for (const input of [kind, state, project, session]) input.addEventListener("change", changed);
  return h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter jobs", on: { submit: (e) => (e.preventDefault(), changed()) } },
    field("Kind", kind),
    field("State", state),
    field("Project", project),
    field("Session", session),
  );
}

/** A project's name linked to its files; one the user cannot list shows the start of its id. */
function projectLinker(projects) {
  const names = new Map(projects.map((p) => [p.id, p.name]));
  return (id) => h("a", { href: consoleUrl("files", [], { project: id }) }, names.get(id) ?? id.slice(0, 8));
}

/** The jobs under the current filters: pages of the list, and the jobs the feed says moved. */
class JobList {
  constructor(filters, projects, signal) {
    this.filters = filters;
    this.signal = signal;
    this.table = new JobTable(projectLinker(projects));
    this.problem = h("div", { class: "list-problem" });
    this.empty = h("p", { class: "muted", hidden: true }, "No jobs match.");
    this.more = h("button", { type: "button", hidden: true, on: { click: () => this.loadPage(true) } }, "Load more");
    this.cursor = null;
    this.generation = 0; // a reload supersedes the answers of earlier ones
    this.refresher = new Refresher((id) => this.readOne(id), (ids) => this.readMany(ids));
  }

  /** The elements the panel shows, in order. */
  parts() {
    return [this.problem, this.table.table, this.empty, h("div", { class: "toolbar" }, this.more)];
  }

  /** Read the first page again (or the next one); `preloaded` is a first page already asked for. */
  async loadPage(next = false, preloaded = null) {
    const mine = next ? this.generation : ++this.generation;
    this.more.disabled = true;
    try {
      const query = { ...this.filters, limit: PAGE, cursor: next ? this.cursor : null };
      const page = await (preloaded ?? getJson("/v1/jobs", query, this.signal));
      if (mine !== this.generation) return;
      replace(this.problem);
      if (!next) this.table.clear();
      this.table.append(page.items);
      this.cursor = page.next_cursor;
      this.more.hidden = !this.cursor;
      this.empty.hidden = this.table.rows.size > 0;
    } catch (error) {
      if (!this.signal.aborted) replace(this.problem, errorBox(error));
    } finally {
      this.more.disabled = false;
    }
  }

  /** Show a job the feed or the form told us of, if the list should hold it. */
  place(job) {
    if (this.table.has(job.id)) this.table.update(job);
    else if (matches(job, this.filters)) {
      // older than the last loaded row while more pages remain: "Load more" will bring it
      const oldest = this.table.oldest();
      if (this.cursor && oldest && job.created_at < oldest.created_at) return;
      this.table.insert(job);
      this.empty.hidden = true;
    }
  }

  async readOne(id) {
    try {
      this.place(await getJson(`/v1/jobs/${id}`, null, this.signal));
    } catch (error) {
      // a job gone from view (or a dropped request) just stays as last read
      if (!this.signal.aborted && error.status !== 404) console.info("re-reading job", id, error.message);
    }
  }

  async readMany(ids) {
    let found = new Set();
    try {
      const page = await getJson("/v1/jobs", { ...this.filters, limit: PAGE }, this.signal);
      for (const job of page.items) this.place(job);
      found = new Set(page.items.map((j) => j.id));
    } catch {
      // fall through: each job is read on its own below
    }
    await Promise.all(ids.filter((id) => !found.has(id) && this.table.has(id)).map((id) => this.readOne(id)));
  }

  /** A feed event: its job is re-read when the list holds it or, by its kind, might. */
  heard(event) {
    if (!event.job_id) return;
    const kind = this.filters.kind;
    if (this.table.has(event.job_id) || !kind || event.job_kind === kind) this.refresher.want(event.job_id);
  }

  applyFilters(next) {
    this.filters = next;
    const query = { kind: next.kind, state: next.state, project: next.project_id, session: next.session_id };
    // replace, not push: back leaves Activity rather than stepping through each filter
    history.replaceState(null, "", consoleUrl("activity", [], query));
    this.loadPage();
  }

  stop() {
    this.refresher.stop();
  }
}

export default {
  title: "Activity",
  async render(ctx, route) {
    const controller = new AbortController();
    const { signal } = controller;
    const filters = filtersOf(route.query);
    // the first page and the projects are asked for together: the list is what the user waits for
    const firstPage = getJson("/v1/jobs", { ...filters, limit: PAGE }, signal);
    firstPage.catch(() => {}); // its failure is shown by loadPage, not reported as unhandled
    const projects = (await getJson("/v1/projects", { limit: 100 }, signal)).items;
    const list = new JobList(filters, projects, signal);
    const unsubscribe = ctx.feed.subscribe((event) => list.heard(event), () => list.loadPage());
    replace(
      ctx.main,
      h("h1", {}, "Activity"),
      submitForm(projects, (job) => list.place(job)),
      filterBar(filters, projects, (next) => list.applyFilters(next)),
      list.parts(),
    );
    await list.loadPage(false, firstPage);

    return () => {
      controller.abort();
      list.stop();
      unsubscribe();
    };
  },
};
