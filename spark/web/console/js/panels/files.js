// Files and undo: a project's versioned files, each with its history; a diff between any two
// versions, a rollback, a patch pinned to the version shown, and undoing a whole job's writes.

import { filePath, getJson, request, submit } from "../api.js";
import { diffView, unifiedView } from "../diff.js";
import { h, replace } from "../dom.js";
import { watchJob } from "../jobwatch.js";
import { loadProjects, noProjects, projectPicker } from "../projects.js";
import { consoleUrl } from "../router.js";
import { bytes, codeView, confirmDialog, errorBox, field, progressBar, select, when } from "../ui.js";

const PATCH_TYPES = [
  ["replace", "Replace text"],
  ["insert_before", "Insert before"],
  ["insert_after", "Insert after"],
  ["unified_diff", "Unified diff"],
  ["full", "Whole file"],
];
// the text fields each patch type takes (CONTRACT §5), and how the form labels them
const NEEDS = {
  replace: ["old", "new"],
  insert_before: ["anchor", "new"],
  insert_after: ["anchor", "new"],
  unified_diff: ["diff"],
  full: ["content"],
};
const LABELS = { old: "Text to replace", new: "New text", anchor: "Anchor text", diff: "Unified diff", content: "New content" };
const HISTORY_PAGE = 50;

function jobAnchor(jobId) {
  return h("a", { href: `/console/jobs/${jobId}`, class: "job-link" }, jobId.slice(0, 8));
}

function notice(...children) {
  return h("div", { class: "card notice", role: "status" }, ...children);
}

/** The project files a job wrote, as [{path, version}], read from its result. */
export function writesOf(job) {
  const result = job.result ?? {};
  const listed = Array.isArray(result.written) ? result.written : [];
  const single = typeof result.path === "string" && Number.isInteger(result.version) ? [result] : [];
  const seen = new Set();
  return [...listed, ...single]
    .filter((w) => !seen.has(w.path) && seen.add(w.path))
    .map(({ path, version }) => ({ path, version }));
}

export default {
  title: "Files and undo",
  async render(ctx, route) {
    const controller = new AbortController();
    const { signal } = controller;
    const stops = new Set();
    const cleanup = () => {
      controller.abort();
      for (const stop of stops) stop();
    };

    const projects = await loadProjects(signal);
    if (!projects.length) {
      replace(ctx.main, h("h1", {}, "Files and undo"), noProjects());
      return cleanup;
    }
    const projectId = route.query.get("project") ?? projects[0].id;
    const path = route.query.get("path");
    const line = Number(route.query.get("line")) || null;
    const undo = route.query.get("undo");
    const here = (query) => consoleUrl("files", [], { project: projectId, ...query });

    const picker = projectPicker(projects, projectId, (id) => ctx.navigate(consoleUrl("files", [], { project: id })), "files-project");
    const tree = h("nav", { class: "file-tree", "aria-label": "Project files" }, h("p", { class: "muted" }, "Loading files…"));
    const area = h("section", { class: "file-area", "aria-label": path ?? "file" });
    const notes = h("div", { class: "notes", "aria-live": "polite" });
    replace(ctx.main, h("h1", {}, "Files and undo"), h("div", { class: "toolbar" }, picker), notes, h("div", { class: "columns" }, tree, area));

    // --- the tree ---------------------------------------------------------------------------
    async function loadTree() {
      const heads = [];
      let cursor;
      try {
        do {
          const page = await getJson(`/v1/projects/${projectId}/files`, { limit: 200, cursor }, signal);
          heads.push(...page.items);
          cursor = page.next_cursor;
        } while (cursor && heads.length < 5000);
      } catch (error) {
        if (!signal.aborted) replace(tree, errorBox(error));
        return;
      }
      if (!heads.length) {
        replace(tree, h("p", { class: "muted" }, "No files in this project's store yet: a job that writes files, or an import, adds them."));
        return;
      }
      const folders = new Map();
      for (const head of heads) {
        const cut = head.path.lastIndexOf("/");
        const folder = head.path.slice(0, cut);
        if (!folders.has(folder)) folders.set(folder, []);
        folders.get(folder).push(head);
      }
      replace(
        tree,
        [...folders].map(([folder, files]) =>
          h(
            "div",
            { class: "folder" },
            h("h3", {}, folder + "/"),
            h(
              "ul",
              {},
              files.map((f) =>
                h(
                  "li",
                  {},
                  h(
                    "a",
                    { href: here({ path: f.path }), "aria-current": f.path === path ? "page" : null, title: `${f.path}, version ${f.version}` },
                    f.path.slice(folder.length + 1),
                  ),
                  h("small", {}, ` v${f.version}`),
                ),
              ),
            ),
          ),
        ),
      );
    }

    // --- one file ---------------------------------------------------------------------------
    async function showFile(note) {
      replace(area, h("h2", { class: "path" }, path), note ?? null, h("p", { class: "muted" }, "Loading…"));
      const versions = await loadHistory();
      let file = null;
      let failure = null;
      try {
        file = await getJson(filePath(projectId, path), undefined, signal);
      } catch (error) {
        if (signal.aborted) return;
        failure = error;
      }
      if (signal.aborted) return;
      const newest = versions.items[0] ?? null;
      replace(
        area,
        h("h2", { class: "path" }, path),
        note ?? null,
        file ? fileView(file) : errorBox(failure),
        file ? patchForm(file) : null,
        compareForm(versions.items),
        historyTable(versions, newest),
      );
      if (file && line) area.querySelector(`pre.code [data-line="${line}"]`)?.scrollIntoView({ block: "center" });
    }

    async function loadHistory(cursor) {
      try {
        return await getJson(filePath(projectId, path, "/history"), { limit: HISTORY_PAGE, cursor }, signal);
      } catch (error) {
        return { items: [], next_cursor: null, error };
      }
    }

    function fileView(file) {
      const meta = h(
        "p",
        { class: "file-meta" },
        h("strong", { class: "file-version" }, `version ${file.version}`),
        ` · ${bytes(file.size)} · by ${file.author.user} · `,
        when(file.created_at),
        file.job_id ? [" · job ", jobAnchor(file.job_id)] : null,
        file.message ? [" · ", h("q", {}, file.message)] : null,
      );
      const body =
        file.content === null
          ? h("p", { class: "muted" }, `Binary content (${bytes(file.size)}): not shown.`)
          : codeView(file.content.replace(/\n$/, ""), new Set(line ? [line] : [])); // a final newline ends the last line
      if (body.tagName === "PRE") body.setAttribute("aria-label", `${file.path} content`);
      return h("div", { class: "file" }, meta, body);
    }

    // --- patch ------------------------------------------------------------------------------
    function patchForm(file) {
      const type = select(PATCH_TYPES, "replace", { id: "patch-type" });
      const inputs = {};
      const fields = {};
      for (const name of Object.keys(LABELS)) {
        inputs[name] = h("textarea", { id: `patch-${name}`, spellcheck: "false", rows: name === "content" ? "14" : "4" });
        fields[name] = field(LABELS[name], inputs[name]);
      }
      if (file.content !== null) inputs.content.value = file.content;
      const base = h("input", { id: "patch-base", type: "number", value: String(file.version), readonly: true });
      const check = h("input", { id: "patch-validate", type: "checkbox", checked: file.path.endsWith(".cs") });
      const status = h("div", { class: "patch-status", "aria-live": "polite" });
      const showFields = () => {
        for (const [name, wrap] of Object.entries(fields)) wrap.hidden = !NEEDS[type.value].includes(name);
      };
      type.addEventListener("change", showFields);
      showFields();
      const form = h(
        "form",
        { class: "card patch", "aria-label": "Patch", on: { submit: (e) => (e.preventDefault(), apply()) } },
        h("h3", {}, "Patch"),
        h("div", { class: "toolbar" }, field("Patch type", type), field("Base version", base, "the patch fails if the file has moved past it")),
        Object.values(fields),
        h("label", { class: "check" }, check, " Check C# syntax before writing"),
        h("div", { class: "toolbar" }, h("button", { type: "submit", class: "primary" }, "Apply patch")),
        status,
      );

      async function apply() {
        const params = { path: file.path, patch_type: type.value, base_version: file.version, validate: check.checked };
        for (const name of NEEDS[type.value]) params[name] = inputs[name].value;
        let job;
        try {
          job = await submit("apply_patch", params, { project_id: projectId });
        } catch (error) {
          replace(status, errorBox(error));
          return;
        }
        const waiting = h("p", {}, "Patching… ", progressBar(null, job.state), " ", jobAnchor(job.id));
        replace(status, waiting);
        const stop = watchJob(ctx.feed, job.id, {
          onEvent(event) {
            if (event.type === "progress") waiting.querySelector(".progress")?.replaceWith(progressBar(event.data, "running"));
          },
          onEnd(ended) {
            stops.delete(stop);
            if (ended.state === "succeeded") {
              const r = ended.result;
              loadTree();
              showFile(notice(h("p", {}, `Patched: now version ${r.version} (job `, jobAnchor(ended.id), ")"), unifiedView(r.diff, "patch diff")));
            } else {
              replace(status, errorBox(ended.error ?? { code: ended.state, message: `the patch ended ${ended.state}` }), h("p", {}, jobAnchor(ended.id)));
            }
          },
        });
        stops.add(stop);
      }
      return form;
    }

    // --- compare ----------------------------------------------------------------------------
    function compareForm(items) {
      const versions = items.filter((v) => !v.deleted).map((v) => [String(v.version), `version ${v.version}`]);
      if (versions.length < 2) return null;
      const from = select(versions, versions[1][0], { id: "diff-from" });
      const to = select(versions, versions[0][0], { id: "diff-to" });
      const out = h("div", { class: "diff-out", "aria-live": "polite" });
      const show = async () => {
        replace(out, h("p", { class: "muted" }, "Loading…"));
        try {
          const [a, b] = await Promise.all(
            [from.value, to.value].map((v) => getJson(filePath(projectId, path), { version: v }, signal)),
          );
          if (a.content === null || b.content === null) {
            replace(out, h("p", { class: "muted" }, "Binary content: no line diff."));
            return;
          }
          replace(out, h("h4", {}, `Version ${a.version} → version ${b.version}`), diffView(a.content, b.content, `diff of version ${a.version} and version ${b.version}`));
        } catch (error) {
          if (!signal.aborted) replace(out, errorBox(error));
        }
      };
      return h(
        "form",
        { class: "card compare", "aria-label": "Compare versions", on: { submit: (e) => (e.preventDefault(), show()) } },
        h("h3", {}, "Compare versions"),
        h("div", { class: "toolbar" }, field("From", from), field("To", to), h("button", { type: "submit" }, "Show diff")),
        out,
      );
    }

    // --- history ----------------------------------------------------------------------------
    function historyTable(versions, newest) {
      if (versions.error) return errorBox(versions.error);
      const body = h("tbody");
      const more = h("div", {});
      const add = (page) => {
        body.append(...page.items.map((v) => historyRow(v, newest)));
        replace(
          more,
          page.next_cursor
            ? h("button", { type: "button", on: { click: async () => add(await loadHistory(page.next_cursor)) } }, "Older versions")
            : null,
        );
      };
      add(versions);
      return h(
        "section",
        { class: "history", "aria-label": "History" },
        h("h3", {}, "History"),
        h(
          "table",
          {},
          h("thead", {}, h("tr", {}, ["Version", "Author", "Job", "Message", "Time", ""].map((t) => h("th", {}, t)))),
          body,
        ),
        more,
      );
    }

    function historyRow(v, newest) {
      const actions = [];
      if (!v.deleted && v.version !== newest?.version) {
        actions.push(h("button", { type: "button", on: { click: () => rollback(v, newest) } }, `Roll back to v${v.version}`));
      }
      if (v.job_id) actions.push(h("button", { type: "button", on: { click: () => undoJob(v.job_id) } }, "Undo this job"));
      return h(
        "tr",
        { dataset: { version: String(v.version) } },
        h("td", {}, String(v.version), v.deleted ? h("small", {}, " deleted") : null),
        h("td", {}, v.author.user),
        h("td", {}, v.job_id ? jobAnchor(v.job_id) : h("span", { class: "muted" }, "—")),
        h("td", {}, v.message),
        h("td", {}, when(v.created_at)),
        h("td", { class: "actions" }, actions),
      );
    }

    async function rollback(v, newest) {
      const next = (newest?.version ?? v.version) + 1;
      const ok = await confirmDialog(
        `Roll back ${path} to version ${v.version}?`,
        h("p", {}, `Version ${v.version}'s content becomes version ${next}. Every version stays in the history.`),
      );
      if (!ok) return;
      try {
        const written = await (await request(filePath(projectId, path, "/rollback"), { method: "POST", body: { to_version: v.version } })).json();
        loadTree();
        showFile(notice(h("p", {}, `Rolled back to version ${v.version}: now version ${written.version}.`)));
      } catch (error) {
        replace(notes, errorBox(error));
      }
    }

    // --- undo a job -------------------------------------------------------------------------
    /** Each path the job wrote, with the version before it and the newest version now. */
    async function plan(job) {
      return Promise.all(
        writesOf(job).map(async (w) => {
          const page = await getJson(filePath(projectId, w.path, "/history"), { limit: 1 }, signal);
          const now = page.items[0];
          return { ...w, before: w.version - 1, now, changed: now.version !== w.version };
        }),
      );
    }

    function planItem(step) {
      const target = step.before >= 1 ? `back to version ${step.before}` : "deleted (the job created it)";
      return h("li", {}, h("code", {}, step.path), `: version ${step.version} → ${target}`);
    }

    function changedItem(step) {
      const by = step.now.job_id ? ["job ", step.now.job_id.slice(0, 8)] : [step.now.author.user];
      const what = step.now.deleted ? "deleted" : `version ${step.now.version}`;
      return h("li", {}, h("code", {}, step.path), `: now ${what}, by `, by, step.now.message ? ` (${step.now.message})` : "");
    }

    async function undoJob(jobId) {
      let job;
      let steps;
      try {
        job = await getJson(`/v1/jobs/${jobId}`, undefined, signal);
        steps = await plan(job);
      } catch (error) {
        if (!signal.aborted) replace(notes, errorBox(error));
        return;
      }
      if (!steps.length) {
        replace(notes, notice(h("p", {}, `The job ${job.kind} ${jobId.slice(0, 8)} wrote no project files: nothing to undo.`)));
        return;
      }
      const clean = steps.filter((s) => !s.changed);
      const changed = steps.filter((s) => s.changed);
      const overwrite = h("input", { id: "undo-overwrite", type: "checkbox" });
      const ok = await confirmDialog(
        `Undo ${job.kind} ${jobId.slice(0, 8)}?`,
        h("p", {}, "Each file the job wrote goes back to the version before it, as a new version."),
        clean.length ? h("ul", { class: "undo-plan" }, clean.map(planItem)) : null,
        changed.length
          ? [
              h("h3", {}, "Changed since the job"),
              h("p", {}, "These files are not the job's version any more:"),
              h("ul", { class: "undo-changed" }, changed.map(changedItem)),
              h("label", { class: "check", for: "undo-overwrite" }, overwrite, " Undo these too, overwriting the later changes"),
            ]
          : null,
      );
      if (!ok) return;
      const chosen = overwrite.checked ? steps : clean;
      const outcomes = [];
      for (const step of chosen) outcomes.push(await revert(step, jobId));
      for (const step of steps.filter((s) => !chosen.includes(s))) {
        outcomes.push(h("li", { class: "skipped" }, h("code", {}, step.path), `: left as it is (changed since the job, now version ${step.now.version})`));
      }
      replace(notes, notice(h("p", {}, `Undid ${job.kind} `, jobAnchor(jobId), ":"), h("ul", { class: "undo-outcome" }, outcomes)));
      loadTree();
      if (path) showFile();
    }

    /** Put one path back where it was before the job; an <li> saying how it went. */
    async function revert(step, jobId) {
      try {
        if (step.before >= 1) {
          const resp = await request(filePath(projectId, step.path, "/rollback"), { method: "POST", body: { to_version: step.before } });
          const written = await resp.json();
          return h("li", {}, h("code", {}, step.path), `: back to version ${step.before}'s content, now version ${written.version}`);
        }
        const params = { base_version: step.now.version, message: `undo job ${jobId.slice(0, 8)}` };
        await request(filePath(projectId, step.path), { method: "DELETE", params });
        return h("li", {}, h("code", {}, step.path), ": deleted (the job created it)");
      } catch (error) {
        return h("li", { class: "failed" }, h("code", {}, step.path), ": ", errorBox(error));
      }
    }

    loadTree();
    if (path) showFile();
    else replace(area, h("p", { class: "muted" }, "Pick a file to see its content, history and versions."));
    if (undo) {
      history.replaceState(null, "", here({ path }));
      undoJob(undo);
    }
    return cleanup;
  },
};
