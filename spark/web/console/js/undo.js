// Undoing a job's writes: each project file the job wrote goes back to the version before it,
// as a new version, in one confirmed step. A file changed since the job is left alone unless
// the user asks to overwrite the later change.

import { filePath, getJson, request } from "./api.js";
import { h, replace } from "./dom.js";
import { jobAnchor, notice } from "./fileparts.js";
import { confirmDialog, errorBox } from "./ui.js";

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

/**
 * Undo jobId's writes in projectId once the user confirms; what happened to each file goes in
 * `notes`, then onDone() so the panel can read the files again.
 */
export async function undoJob(jobId, { projectId, signal, notes, onDone }) {
  let job;
  let steps;
  try {
    job = await getJson(`/v1/jobs/${jobId}`, undefined, signal);
    steps = await plan(projectId, job, signal);
  } catch (error) {
    if (!signal.aborted) replace(notes, errorBox(error));
    return;
  }
  const name = `${job.kind} ${jobId.slice(0, 8)}`;
  if (!steps.length) {
    replace(notes, notice(h("p", {}, `The job ${name} wrote no project files: nothing to undo.`)));
    return;
  }
  const chosen = await confirmUndo(name, steps);
  if (!chosen) return;
  const outcomes = [];
  for (const step of chosen) outcomes.push(await revert(projectId, step, jobId));
  for (const step of steps.filter((s) => !chosen.includes(s))) outcomes.push(skippedItem(step));
  replace(notes, notice(h("p", {}, `Undid ${job.kind} `, jobAnchor(jobId), ":"), h("ul", { class: "undo-outcome" }, outcomes)));
  onDone();
}

/** Each path the job wrote, with the version before it and the newest version now. */
async function plan(projectId, job, signal) {
  return Promise.all(
    writesOf(job).map(async (w) => {
      const page = await getJson(filePath(projectId, w.path, "/history"), { limit: 1 }, signal);
      const now = page.items[0];
      return { ...w, before: w.version - 1, now, changed: now.version !== w.version };
    }),
  );
}

/** Show the plan and ask; the steps to carry out, or null when the user cancels. */
async function confirmUndo(name, steps) {
  const clean = steps.filter((s) => !s.changed);
  const changed = steps.filter((s) => s.changed);
  const overwrite = h("input", { id: "undo-overwrite", type: "checkbox" });
  const ok = await confirmDialog(
    `Undo ${name}?`,
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
  if (!ok) return null;
  return overwrite.checked ? steps : clean;
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

function skippedItem(step) {
  return h("li", { class: "skipped" }, h("code", {}, step.path), `: left as it is (changed since the job, now version ${step.now.version})`);
}

/** Put one path back where it was before the job; an <li> saying how it went. */
async function revert(projectId, step, jobId) {
  try {
    if (step.before >= 1) {
      const resp = await request(filePath(projectId, step.path, "/rollback"), { method: "POST", body: { to_version: step.before } });
      const written = await resp.json();
      return h("li", {}, h("code", {}, step.path), `: back to version ${step.before}'s content, now version ${written.version}`);
    }
    // the job created the file: undoing it deletes the file, pinned to the version seen
    const params = { base_version: step.now.version, message: `undo job ${jobId.slice(0, 8)}` };
    await request(filePath(projectId, step.path), { method: "DELETE", params });
    return h("li", {}, h("code", {}, step.path), ": deleted (the job created it)");
  } catch (error) {
    return h("li", { class: "failed" }, h("code", {}, step.path), ": ", errorBox(error));
  }
}
