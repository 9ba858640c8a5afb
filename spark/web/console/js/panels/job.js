// One job: what it was asked (params), where it is (state, progress, events as they happen),
// what it gave (result, artifacts, children) or why it failed (error), and its log for the
// kinds that run Unity on the farm. Everything updates from the shared live feed.

import { getJson, postJson } from "../api.js";
import { h, replace } from "../dom.js";
import { Timeline, artifactList, card, childList, jsonSection, summary } from "../jobview.js";
import { followLog } from "../log.js";
import { consoleUrl } from "../router.js";
import { TERMINAL, confirmDialog, errorBox, progressBar, stateBadge } from "../ui.js";

const LOGGED = new Set(["unity_build", "run_tests", "compile_check"]);
// the events of a burst cost one re-read of the job
const COALESCE_MS = 150;

/** A job's page: its parts, each redrawn or re-read as the job moves. */
class JobPage {
  constructor(job, base, signal) {
    this.job = job;
    this.base = base;
    this.signal = signal;
    this.head = h("div", { class: "job-head" });
    this.problem = h("div", { class: "job-problem" });
    this.errorSlot = h("div");
    this.resultSlot = h("div");
    this.childrenSlot = h("div");
    this.artifactsSlot = h("div");
    this.timeline = new Timeline();
    this.actionError = h("div");
    this.childIds = new Set();
    this.projectName = null;
    this.timer = null;
    this.childrenToo = false;
  }

  async cancel(button) {
    const sure = await confirmDialog("Cancel this job?", h("p", {}, `${this.job.kind} ${this.job.id}`));
    if (!sure) return;
    button.disabled = true;
    replace(this.actionError);
    try {
      this.show(await postJson(`${this.base}/cancel`, {}));
    } catch (error) {
      replace(this.actionError, errorBox(error));
      button.disabled = false;
    }
  }

  /** The heading, state, facts, error and result: everything a re-read of the job changes. */
  drawHead() {
    const job = this.job;
    const cancelButton = TERMINAL.has(job.state)
      ? null
      : h("button", { type: "button", class: "cancel", on: { click: (e) => this.cancel(e.currentTarget) } }, "Cancel");
    replace(
      this.head,
      h("h1", {}, job.kind, " ", h("span", { class: "muted" }, job.id.slice(0, 8))),
      h("div", { class: "toolbar" }, stateBadge(job.state), progressBar(job.progress, job.state), cancelButton),
      this.actionError,
      summary(job, this.projectName),
    );
    replace(this.errorSlot, job.error ? card("Error", errorBox(job.error)) : null);
    replace(this.resultSlot, job.result ? jsonSection("Result", job.result) : null);
  }

  async loadChildren() {
    const page = await getJson("/v1/jobs", { parent_id: this.job.id, limit: 100 }, this.signal);
    this.childIds = new Set(page.items.map((c) => c.id));
    replace(this.childrenSlot, childList(page.items.reverse()));
  }

  async loadArtifacts() {
    const { items } = await getJson(`${this.base}/artifacts`, null, this.signal);
    const onError = (error) => replace(this.problem, errorBox(error));
    replace(this.artifactsSlot, card("Artifacts", artifactList(items, this.signal, onError)));
  }

  async loadProjectName() {
    if (!this.job.project_id) return;
    this.projectName = (await getJson(`/v1/projects/${this.job.project_id}`, null, this.signal)).name;
    this.drawHead();
  }

  async loadEvents() {
    const { items } = await getJson(`${this.base}/events`, null, this.signal);
    for (const event of items) this.timeline.add(event);
  }

  /** Draw a newer read of the job; the artifacts are read once, when it ends. */
  show(next) {
    const ended = !TERMINAL.has(this.job.state) && TERMINAL.has(next.state);
    this.job = next;
    this.drawHead();
    if (ended) this.guard(this.loadArtifacts());
  }

  /** A failed background read shows as a note; the page stays as last read. */
  guard(promise) {
    return promise.then(
      () => replace(this.problem),
      (error) => {
        if (!this.signal.aborted) replace(this.problem, errorBox(error));
      },
    );
  }

  /** Re-read the job (and its steps, when `children`) once per burst of events. */
  reread(children) {
    this.childrenToo ||= children;
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      const steps = this.childrenToo;
      this.childrenToo = false;
      this.guard(this.readAgain(steps));
    }, COALESCE_MS);
  }

  async readAgain(steps) {
    this.show(await getJson(this.base, null, this.signal));
    if (steps) await this.loadChildren();
  }

  /** A feed event: this job's goes on the timeline; another job's may be one of its steps. */
  heard(event) {
    if (event.job_id === this.job.id) {
      this.timeline.add(event);
      this.reread(false);
    } else if (this.childIds.has(event.job_id) || !TERMINAL.has(this.job.state)) {
      // a running job's steps start as it goes: any other job's event may be a new one
      this.reread(true);
    }
  }

  /** The feed reopened: what it missed meanwhile is read again. */
  reopened() {
    this.reread(true);
    this.guard(this.loadEvents());
  }

  /** The live log of a kind that runs Unity on the farm; null for the others. */
  logSection() {
    if (!LOGGED.has(this.job.kind)) return null;
    // a job canceled before it ran has no log: say so rather than show an empty box
    const onDone = (lines) => lines || pre.append(h("span", { class: "muted" }, "No log lines."));
    const pre = followLog(this.job.id, { projectId: this.job.project_id, signal: this.signal, onDone });
    return card("Log", pre);
  }

  /** Fill `main` with the page as first read. */
  draw(main) {
    this.drawHead();
    replace(
      main,
      h("p", {}, h("a", { href: consoleUrl("activity") }, "← Activity")),
      this.head,
      this.problem,
      this.errorSlot,
      this.logSection(),
      this.resultSlot,
      this.artifactsSlot,
      this.childrenSlot,
      card("Events", this.timeline.list, this.timeline.empty),
      jsonSection("Params", this.job.params),
    );
  }

  /** Read what the first read of the job does not hold: events, steps, artifacts, project. */
  async load() {
    const reads = [this.loadEvents(), this.loadChildren(), this.loadArtifacts(), this.loadProjectName()];
    await this.guard(Promise.all(reads));
    // anything that happened between the first read and the subscription
    this.reread(true);
  }

  stop() {
    clearTimeout(this.timer);
  }
}

export default {
  title: "Job",
  async render(ctx, route) {
    const controller = new AbortController();
    const { signal } = controller;
    const base = `/v1/jobs/${encodeURIComponent(route.rest[0] ?? "")}`;
    const page = new JobPage(await getJson(base, null, signal), base, signal);
    // subscribed before the history is read, so an event between the two is not missed
    const unsubscribe = ctx.feed.subscribe((event) => page.heard(event), () => page.reopened());
    page.draw(ctx.main);
    await page.load();

    return () => {
      controller.abort();
      page.stop();
      unsubscribe();
    };
  },
};
