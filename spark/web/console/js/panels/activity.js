// Activity: the user's jobs, newest first, kept current by the shared live feed. Filters live
// in the URL query, so a reload, a shared link or the back button shows the same list.

import { getJson, submit } from "../api.js";
import { h, replace } from "../dom.js";
import { consoleUrl } from "../router.js";
import { errorBox, field, jobLink, progressBar, select, stateBadge, when } from "../ui.js";

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

/** The list of jobs: rows by job id, updated in place. */
class JobTable {
  constructor(projectName) {
    this.projectName = projectName;
    this.rows = new Map(); // id -> {job, tr}
    this.body = h("tbody");
    this.table = h(
      "table",
      { class: "jobs", "aria-label": "Jobs" },
      h(
        "thead",
        {},
        h("tr", {}, ["Job", "State", "Progress", "Project", "Session", "Created"].map((t) => h("th", { scope: "col" }, t))),
      ),
      this.body,
    );
  }

  row(job) {
    return h(
      "tr",
      { dataset: { jobId: job.id, state: job.state } },
      h("td", {}, jobLink(job)),
      h("td", {}, stateBadge(job.state)),
      h(
        "td",
        {},
        progressBar(job.progress, job.state),
        job.error ? h("div", { class: "row-error" }, h("strong", {}, job.error.code), " ", job.error.message) : null,
      ),
      h("td", {}, job.project_id ? this.projectName(job.project_id) : h("span", { class: "muted" }, "none")),
      h("td", {}, job.session_id),
      h("td", {}, when(job.created_at)),
    );
  }

  has(id) {
    return this.rows.has(id);
  }

  clear() {
    this.rows.clear();
    this.body.replaceChildren();
  }

  /** Add jobs at the end (a page of the list, already newest first). */
  append(jobs) {
    for (const job of jobs) {
      if (this.rows.has(job.id)) continue;
      const tr = this.row(job);
      this.rows.set(job.id, { job, tr });
      this.body.append(tr);
    }
  }

  /** Put a job the list does not hold where its creation time belongs. */
  insert(job) {
    if (this.rows.has(job.id)) return this.update(job);
    const tr = this.row(job);
    const later = [...this.rows.values()].find((r) => r.job.created_at < job.created_at);
    this.rows.set(job.id, { job, tr });
    if (later) later.tr.before(tr);
    else this.body.append(tr);
  }

  update(job) {
    const entry = this.rows.get(job.id);
    if (!entry) return;
    const tr = this.row(job);
    entry.tr.replaceWith(tr);
    this.rows.set(job.id, { job, tr });
  }

  oldest() {
    let last = null;
    for (const { job } of this.rows.values()) if (!last || job.created_at < last.created_at) last = job;
    return last;
  }
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

/** The form that submits a generate_script job. */
function submitForm(projects, onSubmitted) {
  const prompt = h("textarea", { name: "prompt", required: true, minlength: "10", rows: "3" });
  const className = h("input", { name: "class_name", required: true, pattern: "[A-Z][A-Za-z0-9_]*", spellcheck: "false" });
  const namespace = h("input", { name: "namespace", pattern: "[A-Za-z][A-Za-z0-9_.]*", spellcheck: "false", placeholder: "none" });
  const project = select([["", "No project"], ...projects.map((p) => [p.id, p.name])], "", { name: "project" });
  const write = h("input", { type: "checkbox", name: "write_to_project" });
  const status = h("div", { class: "submit-status", role: "status" });
  const button = h("button", { type: "submit", class: "primary" }, "Submit");

  async function send(event) {
    event.preventDefault();
    button.disabled = true;
    replace(status);
    try {
      const params = { prompt: prompt.value, class_name: className.value.trim(), write_to_project: write.checked };
      if (namespace.value.trim()) params.namespace = namespace.value.trim();
      const job = await submit("generate_script", params, project.value ? { project_id: project.value } : {});
      replace(status, "Submitted ", jobLink(job));
      onSubmitted(job);
    } catch (error) {
      replace(status, errorBox(error));
    } finally {
      button.disabled = false;
    }
  }

  return h(
    "form",
    { class: "card submit-script", "aria-label": "Generate a script", on: { submit: send } },
    h("h2", {}, "Generate a script"),
    field("Prompt", prompt, "What the script should do (at least 10 characters)."),
    h(
      "div",
      { class: "toolbar" },
      field("Class name", className),
      field("Namespace", namespace),
      field("Project", project),
      h("label", { class: "check" }, write, " Write to project"),
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

export default {
  title: "Activity",
  async render(ctx, route) {
    const controller = new AbortController();
    const { signal } = controller;
    let filters = filtersOf(route.query);
    // the first page and the projects are asked for together: the list is what the user waits for
    const firstPage = getJson("/v1/jobs", { ...filters, limit: PAGE }, signal);
    firstPage.catch(() => {}); // its failure is shown by loadPage, not reported as unhandled
    const projects = (await getJson("/v1/projects", { limit: 100 }, signal)).items;
    const names = new Map(projects.map((p) => [p.id, p.name]));
    const projectName = (id) =>
      h("a", { href: consoleUrl("files", [], { project: id }) }, names.get(id) ?? id.slice(0, 8));

    const table = new JobTable(projectName);
    const problem = h("div", { class: "list-problem" });
    const empty = h("p", { class: "muted", hidden: true }, "No jobs match.");
    const more = h("button", { type: "button", hidden: true, on: { click: () => loadPage(true) } }, "Load more");
    let cursor = null;
    let generation = 0; // a reload supersedes the answers of earlier ones

    async function loadPage(next = false, preloaded = null) {
      const mine = next ? generation : ++generation;
      more.disabled = true;
      try {
        const page = await (preloaded ?? getJson("/v1/jobs", { ...filters, limit: PAGE, cursor: next ? cursor : null }, signal));
        if (mine !== generation) return;
        replace(problem);
        if (!next) table.clear();
        table.append(page.items);
        cursor = page.next_cursor;
        more.hidden = !cursor;
        empty.hidden = table.rows.size > 0;
      } catch (error) {
        if (!signal.aborted) replace(problem, errorBox(error));
      } finally {
        more.disabled = false;
      }
    }

    /** Show a job the feed or the form told us of, if the list should hold it. */
    function place(job) {
      if (table.has(job.id)) table.update(job);
      else if (matches(job, filters)) {
        // older than the last loaded row while more pages remain: "Load more" will bring it
        const oldest = table.oldest();
        if (cursor && oldest && job.created_at < oldest.created_at) return;
        table.insert(job);
        empty.hidden = true;
      }
    }

    async function readOne(id) {
      try {
        place(await getJson(`/v1/jobs/${id}`, null, signal));
      } catch (error) {
        // a job gone from view (or a dropped request) just stays as last read
        if (!signal.aborted && error.status !== 404) console.info("re-reading job", id, error.message);
      }
    }

    async function readMany(ids) {
      let found = new Set();
      try {
        const page = await getJson("/v1/jobs", { ...filters, limit: PAGE }, signal);
        for (const job of page.items) place(job);
        found = new Set(page.items.map((j) => j.id));
      } catch {
        // fall through: each job is read on its own below
      }
      await Promise.all(ids.filter((id) => !found.has(id) && table.has(id)).map(readOne));
    }

    const refresher = new Refresher(readOne, readMany);
    const unsubscribe = ctx.feed.subscribe(
      (event) => {
        if (!event.job_id) return;
        if (table.has(event.job_id) || !filters.kind || event.job_kind === filters.kind) refresher.want(event.job_id);
      },
      () => loadPage(),
    );

    function applyFilters(next) {
      filters = next;
      const query = { kind: next.kind, state: next.state, project: next.project_id, session: next.session_id };
      // replace, not push: back leaves Activity rather than stepping through each filter
      history.replaceState(null, "", consoleUrl("activity", [], query));
      loadPage();
    }

    replace(
      ctx.main,
      h("h1", {}, "Activity"),
      submitForm(projects, place),
      filterBar(filters, projects, applyFilters),
      problem,
      table.table,
      empty,
      h("div", { class: "toolbar" }, more),
    );
    await loadPage(false, firstPage);

    return () => {
      controller.abort();
      refresher.stop();
      unsubscribe();
    };
  },
};
