// The table of a user's jobs, newest first: one row per job, replaced in place when the job
// moves, so the list does not flicker or lose its scroll position as the feed speaks.

import { h } from "./dom.js";
import { jobLink, progressBar, stateBadge, when } from "./ui.js";

const COLUMNS = ["Job", "State", "Progress", "Project", "Session", "Created"];

/** The list of jobs: rows by job id, updated in place. projectName(id) draws a project cell. */
export class JobTable {
  constructor(projectName) {
    this.projectName = projectName;
    this.rows = new Map(); // id -> {job, tr}
    this.body = h("tbody");
    this.table = h(
      "table",
      { class: "jobs", "aria-label": "Jobs" },
      h("thead", {}, h("tr", {}, COLUMNS.map((t) => h("th", { scope: "col" }, t)))),
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
