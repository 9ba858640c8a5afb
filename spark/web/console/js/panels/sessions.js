// Sessions: conversations whose turns plan and run SPARK's jobs. The list opens and lists
// them; a session's page shows each turn (the user's words, the jobs the answer started with
// their live progress, a preview's frame inline, the answer) and takes the next message.

import { blobUrl, getJson, postJson } from "../api.js";
import { h, replace } from "../dom.js";
import { loadProjects } from "../projects.js";
import { consoleUrl } from "../router.js";
import { TERMINAL, confirmDialog, errorBox, field, jobLink, progressBar, select, stateBadge, when } from "../ui.js";

// events come in bursts (a turn's children start and progress together): one re-read each
const SETTLE_MS = 200;

export default {
  title: "Sessions",
  async render(ctx, route) {
    const controller = new AbortController();
    const sessionId = route.rest[0];
    const page = sessionId ? new Conversation(ctx, sessionId, controller.signal) : null;
    if (page) await page.start();
    else await sessionList(ctx, controller.signal);
    return () => {
      controller.abort();
      page?.stop();
    };
  },
};

// --- the list ---------------------------------------------------------------------------------

async function sessionList(ctx, signal) {
  const [sessions, projects] = await Promise.all([getJson("/v1/sessions", { limit: 50 }, signal), loadProjects(signal)]);
  const names = new Map(projects.map((p) => [p.id, p.name]));
  replace(ctx.main, h("h1", {}, "Sessions"), newSessionForm(ctx, projects), sessionTable(sessions.items, names));
}

function newSessionForm(ctx, projects) {
  const title = h("input", { type: "text", maxlength: "200", placeholder: "e.g. the first level" });
  const project = select([["", "No project"], ...projects.map((p) => [p.id, p.name])], projects[0]?.id ?? "");
  const problem = h("div", { "aria-live": "polite" });
  const open = async (event) => {
    event.preventDefault();
    try {
      const body = { title: title.value.trim() || undefined, project_id: project.value || undefined };
      const session = await postJson("/v1/sessions", body);
      ctx.navigate(consoleUrl("sessions", [session.id]));
    } catch (error) {
      replace(problem, errorBox(error));
    }
  };
  return h(
    "form",
    { class: "card toolbar", "aria-label": "New session", on: { submit: open } },
    field("Title", title),
    field("Project", project),
    h("button", { type: "submit", class: "primary" }, "New session"),
    problem,
  );
}

function sessionTable(sessions, names) {
  if (!sessions.length) return h("p", { class: "muted" }, "No sessions yet: open one above.");
  const row = (s) =>
    h(
      "tr",
      {},
      h("td", {}, h("a", { href: consoleUrl("sessions", [s.id]) }, s.title ?? s.id)),
      h("td", {}, names.get(s.project_id) ?? ""),
      h("td", {}, s.state),
      h("td", {}, when(s.last_active_at)),
    );
  const head = h("tr", {}, ["Session", "Project", "State", "Last active"].map((t) => h("th", {}, t)));
  return h("table", { class: "sessions" }, h("thead", {}, head), h("tbody", {}, sessions.map(row)));
}

// --- one session ------------------------------------------------------------------------------

class Conversation {
  constructor(ctx, sessionId, signal) {
    Object.assign(this, { ctx, sessionId, signal });
    this.frames = new Map(); // artifact href → blob: URL, fetched once
    this.turns = h("ol", { class: "turns", "aria-label": "Conversation" });
    this.head = h("div", { class: "session-head" });
    this.composer = messageForm((text) => this.say(text));
    this.timer = null;
    this.unsubscribe = null;
  }

  async start() {
    replace(this.ctx.main, this.head, this.turns, this.composer.form);
    await this.refresh();
    this.unsubscribe = this.ctx.feed.subscribe(
      (event) => event.session_id === this.sessionId && this.soon(),
      () => this.soon(),
    );
  }

  stop() {
    clearTimeout(this.timer);
    this.unsubscribe?.();
    for (const url of this.frames.values()) if (url) URL.revokeObjectURL(url);
  }

  soon() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), SETTLE_MS);
  }

  async refresh() {
    const detail = await getJson(`/v1/sessions/${this.sessionId}`, undefined, this.signal);
    const jobs = await getJson("/v1/jobs", { session_id: this.sessionId, limit: 100 }, this.signal);
    if (this.signal.aborted) return;
    replace(this.head, sessionHead(detail, () => this.end()));
    replace(this.turns, turnsOf(detail, jobs.items).map((turn) => this.turnView(turn)));
    this.composer.enable(detail.state === "open");
  }

  turnView({ job, question, answer, children }) {
    return h(
      "li",
      { class: "turn", dataset: { job: job.id, state: job.state } },
      h("p", { class: "said user" }, h("strong", {}, "You: "), question),
      children.length ? h("ul", { class: "calls" }, children.map((child) => this.childView(child))) : null,
      job.error ? errorBox(job.error) : null,
      refusals(job),
      answer !== null
        ? h("p", { class: "said assistant" }, h("strong", {}, "SPARK: "), answer)
        : h("p", { class: "muted" }, stateBadge(job.state), " ", progressBar(job.progress, job.state)),
    );
  }

  childView(child) {
    const frame = child.kind === "render_preview" && child.state === "succeeded" ? this.frameOf(child) : null;
    return h(
      "li",
      { class: "call", dataset: { kind: child.kind, state: child.state } },
      jobLink(child),
      " ",
      stateBadge(child.state),
      " ",
      progressBar(child.progress, child.state),
      frame,
    );
  }

  frameOf(child) {
    const artifact = child.result?.artifact;
    if (!artifact) return null;
    const href = `/v1/jobs/${child.id}/artifacts/${encodeURIComponent(artifact)}`;
    const alt = `Preview ${child.result.width}×${child.result.height}`;
    const img = h("img", { class: "frame", alt, dataset: { href } });
    const known = this.frames.get(href);
    if (known) img.src = known;
    else if (!this.frames.has(href)) {
      this.frames.set(href, null);
      blobUrl(href, this.signal).then((url) => {
        this.frames.set(href, url);
        for (const el of document.querySelectorAll("img.frame")) if (el.dataset.href === href) el.src = url;
      }, () => this.frames.delete(href));
    }
    return h("figure", {}, img, h("figcaption", {}, alt, child.result.cached ? " · cached" : ""));
  }

  async say(text) {
    await postJson(`/v1/sessions/${this.sessionId}/messages`, { text });
    await this.refresh();
  }

  async end() {
    if (!(await confirmDialog("End this session?", h("p", {}, "Its jobs keep running; no new message can be sent.")))) return;
    await postJson(`/v1/sessions/${this.sessionId}/end`, {});
    await this.refresh();
  }
}

/** The session's turns, oldest first: each assist job with its words, answer and children. */
function turnsOf(detail, jobs) {
  const byParent = new Map();
  for (const job of jobs) {
    if (!job.parent_id) continue;
    if (!byParent.has(job.parent_id)) byParent.set(job.parent_id, []);
    byParent.get(job.parent_id).push(job);
  }
  const turns = jobs.filter((job) => job.kind === "assist").reverse();
  const said = (jobId, role) => detail.messages.find((m) => m.job_id === jobId && m.role === role)?.text ?? null;
  return turns.map((job) => ({
    job,
    question: said(job.id, "user") ?? job.params.text,
    answer: TERMINAL.has(job.state) ? said(job.id, "assistant") ?? job.result?.text ?? null : null,
    children: (byParent.get(job.id) ?? []).slice().reverse(),
  }));
}

function refusals(job) {
  const refused = (job.result?.calls ?? []).filter((call) => call.status === "refused");
  if (!refused.length) return null;
  return h("ul", { class: "refused" }, refused.map((call) => h("li", {}, `${call.tool} refused: ${call.reason ?? ""}`)));
}

function sessionHead(detail, onEnd) {
  const usage = detail.usage;
  return h(
    "div",
    { class: "toolbar" },
    h("h1", {}, detail.title ?? detail.id),
    h("span", { class: "muted", dataset: { state: detail.state } }, detail.state === "open" ? "open" : `ended (${detail.ended_reason ?? ""})`),
    h("span", { class: "usage" }, `${usage.tokens} tokens · cost ${usage.cost.toFixed(4)}`),
    detail.state === "open" ? h("button", { type: "button", on: { click: onEnd } }, "End session") : null,
  );
}

function messageForm(onSend) {
  const text = h("textarea", { required: true, maxlength: "10000", placeholder: "e.g. make a player controller and show it in the main scene" });
  const send = h("button", { type: "submit", class: "primary" }, "Send");
  const problem = h("div", { "aria-live": "polite" });
  const submit = async (event) => {
    event.preventDefault();
    const words = text.value.trim();
    if (!words) return;
    send.disabled = true;
    replace(problem);
    try {
      await onSend(words);
      text.value = "";
    } catch (error) {
      replace(problem, errorBox(error));
    } finally {
      send.disabled = false;
    }
  };
  const form = h("form", { class: "card composer", "aria-label": "Say something", on: { submit } }, field("Message", text), send, problem);
  const enable = (open) => {
    text.disabled = !open;
    send.disabled = !open;
  };
  return { form, enable };
}
