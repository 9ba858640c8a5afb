// Files and undo: a project's versioned files, each with its history; a diff between any two
// versions, a rollback, a patch pinned to the version shown, and undoing a whole job's writes.
// The panel's state travels as one `view` object (see layout) through the functions below.

import { filePath, getJson, request } from "../api.js";
import { diffView } from "../diff.js";
import { h, replace } from "../dom.js";
import { jobAnchor, notice } from "../fileparts.js";
import { patchForm } from "../patchform.js";
import { loadProjects, noProjects, projectPicker } from "../projects.js";
import { consoleUrl } from "../router.js";
import { undoJob } from "../undo.js";
import { bytes, codeView, confirmDialog, errorBox, field, select, when } from "../ui.js";

const HISTORY_PAGE = 50;
// the tree stops paging here, so a huge store cannot keep the panel reading
const TREE_LIMIT = 5000;

export default {
  title: "Files and undo",
  async render(ctx, route) {
    const controller = new AbortController();
    const stops = new Set(); // job watches to end when the user leaves
    const cleanup = () => {
      controller.abort();
      for (const stop of stops) stop();
    };
    const projects = await loadProjects(controller.signal);
    if (!projects.length) {
      replace(ctx.main, h("h1", {}, "Files and undo"), noProjects());
      return cleanup;
    }
    const view = layout(ctx, route, projects, { signal: controller.signal, stops });
    start(view, route.query.get("undo"));
    return cleanup;
  },
};

/** Fill the page's frame; the view: what the URL asks for, the signal, and the parts to fill. */
function layout(ctx, route, projects, { signal, stops }) {
  const projectId = route.query.get("project") ?? projects[0].id;
  const path = route.query.get("path");
  const line = Number(route.query.get("line")) || null;
  const here = (query) => consoleUrl("files", [], { project: projectId, ...query });
  const picker = projectPicker(projects, projectId, (id) => ctx.navigate(consoleUrl("files", [], { project: id })), "files-project");
  const tree = h("nav", { class: "file-tree", "aria-label": "Project files" }, h("p", { class: "muted" }, "Loading files…"));
  const area = h("section", { class: "file-area", "aria-label": path ?? "file" });
  const notes = h("div", { class: "notes", "aria-live": "polite" });
  replace(ctx.main, h("h1", {}, "Files and undo"), h("div", { class: "toolbar" }, picker), notes, h("div", { class: "columns" }, tree, area));
  return { ctx, signal, stops, projectId, path, line, here, tree, area, notes };
}

function start(view, undo) {
  loadTree(view);
  if (view.path) showFile(view);
  else replace(view.area, h("p", { class: "muted" }, "Pick a file to see its content, history and versions."));
  if (undo) {
    // the undo runs once: a reload or a shared link must not offer it again
    history.replaceState(null, "", view.here({ path: view.path }));
    undoFrom(view, undo);
  }
}

/** After a write: the tree's versions and the file shown are read again. */
function refresh(view, note) {
  loadTree(view);
  if (view.path) showFile(view, note);
}

// --- the tree -------------------------------------------------------------------------------
async function loadTree(view) {
  let heads;
  try {
    heads = await readHeads(view.projectId, view.signal);
  } catch (error) {
    if (!view.signal.aborted) replace(view.tree, errorBox(error));
    return;
  }
  if (!heads.length) {
    replace(view.tree, h("p", { class: "muted" }, "No files in this project's store yet: a job that writes files, or an import, adds them."));
    return;
  }
  replace(
    view.tree,
    [...byFolder(heads)].map(([folder, files]) => folderBlock(view, folder, files)),
  );
}

/** The newest version of every file in the project, page by page. */
async function readHeads(projectId, signal) {
  const heads = [];
  let cursor;
  do {
    const page = await getJson(`/v1/projects/${projectId}/files`, { limit: 200, cursor }, signal);
    heads.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && heads.length < TREE_LIMIT);
  return heads;
}

/** Map folder → its files, in the order the API lists them. */
function byFolder(heads) {
  const folders = new Map();
  for (const head of heads) {
    const folder = head.path.slice(0, head.path.lastIndexOf("/"));
    if (!folders.has(folder)) folders.set(folder, []);
    folders.get(folder).push(head);
  }
  return folders;
}

function folderBlock(view, folder, files) {
  const item = (f) =>
    h(
      "li",
      {},
      h(
        "a",
        { href: view.here({ path: f.path }), "aria-current": f.path === view.path ? "page" : null, title: `${f.path}, version ${f.version}` },
        f.path.slice(folder.length + 1),
      ),
      h("small", {}, ` v${f.version}`),
    );
  return h("div", { class: "folder" }, h("h3", {}, folder + "/"), h("ul", {}, files.map(item)));
}

// --- one file -------------------------------------------------------------------------------
async function showFile(view, note) {
  const { area, path, signal } = view;
  replace(area, h("h2", { class: "path" }, path), note ?? null, h("p", { class: "muted" }, "Loading…"));
  const versions = await loadHistory(view);
  let file = null;
  let failure = null;
  try {
    file = await getJson(filePath(view.projectId, path), undefined, signal);
  } catch (error) {
    if (signal.aborted) return;
    failure = error;
  }
  if (signal.aborted) return;
  const patched = (patchNote) => refresh(view, patchNote);
  replace(
    area,
    h("h2", { class: "path" }, path),
    note ?? null,
    file ? fileView(file, view.line) : errorBox(failure),
    file ? patchForm(file, { projectId: view.projectId, feed: view.ctx.feed, stops: view.stops, onPatched: patched }) : null,
    compareForm(view, versions.items),
    historyTable(view, versions, versions.items[0] ?? null),
  );
  if (file && view.line) area.querySelector(`pre.code [data-line="${view.line}"]`)?.scrollIntoView({ block: "center" });
}

async function loadHistory(view, cursor) {
  try {
    return await getJson(filePath(view.projectId, view.path, "/history"), { limit: HISTORY_PAGE, cursor }, view.signal);
  } catch (error) {
    // the file itself may still be readable: the history shows the error in its place
    return { items: [], next_cursor: null, error };
  }
}

function fileView(file, line) {
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

// --- compare --------------------------------------------------------------------------------
function compareForm(view, items) {
  const versions = items.filter((v) => !v.deleted).map((v) => [String(v.version), `version ${v.version}`]);
  if (versions.length < 2) return null;
  const from = select(versions, versions[1][0], { id: "diff-from" });
  const to = select(versions, versions[0][0], { id: "diff-to" });
  const out = h("div", { class: "diff-out", "aria-live": "polite" });
  const show = () => showDiff(view, from.value, to.value, out);
  return h(
    "form",
    { class: "card compare", "aria-label": "Compare versions", on: { submit: (e) => (e.preventDefault(), show()) } },
    h("h3", {}, "Compare versions"),
    h("div", { class: "toolbar" }, field("From", from), field("To", to), h("button", { type: "submit" }, "Show diff")),
    out,
  );
}

async function showDiff(view, fromVersion, toVersion, out) {
  replace(out, h("p", { class: "muted" }, "Loading…"));
  try {
    const [a, b] = await Promise.all(
      [fromVersion, toVersion].map((v) => getJson(filePath(view.projectId, view.path), { version: v }, view.signal)),
    );
    if (a.content === null || b.content === null) {
      replace(out, h("p", { class: "muted" }, "Binary content: no line diff."));
      return;
    }
    replace(out, h("h4", {}, `Version ${a.version} → version ${b.version}`), diffView(a.content, b.content, `diff of version ${a.version} and version ${b.version}`));
  } catch (error) {
    if (!view.signal.aborted) replace(out, errorBox(error));
  }
}

// --- history --------------------------------------------------------------------------------
function historyTable(view, versions, newest) {
  if (versions.error) return errorBox(versions.error);
  const body = h("tbody");
  const more = h("div", {});
  const add = (page) => {
    body.append(...page.items.map((v) => historyRow(view, v, newest)));
    replace(
      more,
      page.next_cursor
        ? h("button", { type: "button", on: { click: async () => add(await loadHistory(view, page.next_cursor)) } }, "Older versions")
        : null,
    );
  };
  add(versions);
  return h(
    "section",
    { class: "history", "aria-label": "History" },
    h("h3", {}, "History"),
    h("table", {}, h("thead", {}, h("tr", {}, ["Version", "Author", "Job", "Message", "Time", ""].map((t) => h("th", {}, t)))), body),
    more,
  );
}

function historyRow(view, v, newest) {
  const actions = [];
  // rolling back to the newest version would only copy it
  if (!v.deleted && v.version !== newest?.version) {
    actions.push(h("button", { type: "button", on: { click: () => rollback(view, v, newest) } }, `Roll back to v${v.version}`));
  }
  if (v.job_id) actions.push(h("button", { type: "button", on: { click: () => undoFrom(view, v.job_id) } }, "Undo this job"));
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

async function rollback(view, v, newest) {
  const next = (newest?.version ?? v.version) + 1;
  const ok = await confirmDialog(
    `Roll back ${view.path} to version ${v.version}?`,
    h("p", {}, `Version ${v.version}'s content becomes version ${next}. Every version stays in the history.`),
  );
  if (!ok) return;
  try {
    const resp = await request(filePath(view.projectId, view.path, "/rollback"), { method: "POST", body: { to_version: v.version } });
    const written = await resp.json();
    refresh(view, notice(h("p", {}, `Rolled back to version ${v.version}: now version ${written.version}.`)));
  } catch (error) {
    replace(view.notes, errorBox(error));
  }
}

function undoFrom(view, jobId) {
  undoJob(jobId, { projectId: view.projectId, signal: view.signal, notes: view.notes, onDone: () => refresh(view) });
}
