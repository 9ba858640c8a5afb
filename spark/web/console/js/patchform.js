// The patch form of a file: a patch of one of CONTRACT §5's types, pinned to the version shown
// so it fails rather than overwrite a later change, applied as an apply_patch job and followed
// on the live feed until it ends.

import { submit } from "./api.js";
import { unifiedView } from "./diff.js";
import { h, replace } from "./dom.js";
import { jobAnchor, notice } from "./fileparts.js";
import { watchJob } from "./jobwatch.js";
import { errorBox, field, progressBar, select } from "./ui.js";

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

/**
 * The patch form for file (as GET answers it). Each watch it starts is kept in `stops` so the
 * panel can end it on leaving; onPatched(note) runs with a notice of the new version.
 */
export function patchForm(file, { projectId, feed, stops, onPatched }) {
  const parts = patchInputs(file);
  const status = h("div", { class: "patch-status", "aria-live": "polite" });
  const apply = () => applyPatch(file, parts, status, { projectId, feed, stops, onPatched });
  return h(
    "form",
    { class: "card patch", "aria-label": "Patch", on: { submit: (e) => (e.preventDefault(), apply()) } },
    h("h3", {}, "Patch"),
    h("div", { class: "toolbar" }, field("Patch type", parts.type), field("Base version", parts.base, "the patch fails if the file has moved past it")),
    Object.values(parts.fields),
    h("label", { class: "check" }, parts.check, " Check C# syntax before writing"),
    h("div", { class: "toolbar" }, h("button", { type: "submit", class: "primary" }, "Apply patch")),
    status,
  );
}

/** The form's controls; only the text fields the chosen patch type takes are shown. */
function patchInputs(file) {
  const type = select(PATCH_TYPES, "replace", { id: "patch-type" });
  const inputs = {};
  const fields = {};
  for (const name of Object.keys(LABELS)) {
    inputs[name] = h("textarea", { id: `patch-${name}`, spellcheck: "false", rows: name === "content" ? "14" : "4" });
    fields[name] = field(LABELS[name], inputs[name]);
  }
  // a whole-file patch starts from the content shown, so a small edit stays small
  if (file.content !== null) inputs.content.value = file.content;
  const base = h("input", { id: "patch-base", type: "number", value: String(file.version), readonly: true });
  const check = h("input", { id: "patch-validate", type: "checkbox", checked: file.path.endsWith(".cs") });
  const showFields = () => {
    for (const [name, wrap] of Object.entries(fields)) wrap.hidden = !NEEDS[type.value].includes(name);
  };
  type.addEventListener("change", showFields);
  showFields();
  return { type, inputs, fields, base, check };
}

/** Submit the patch job, then follow it in `status`. */
async function applyPatch(file, { type, inputs, check }, status, { projectId, feed, stops, onPatched }) {
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
  const stop = watchJob(feed, job.id, {
    onEvent(event) {
      if (event.type === "progress") waiting.querySelector(".progress")?.replaceWith(progressBar(event.data, "running"));
    },
    onEnd(ended) {
      stops.delete(stop);
      patchEnded(ended, status, onPatched);
    },
  });
  stops.add(stop);
}

/** A succeeded patch hands its new version and diff on; any other ending is shown in `status`. */
function patchEnded(ended, status, onPatched) {
  if (ended.state === "succeeded") {
    const r = ended.result;
    onPatched(notice(h("p", {}, `Patched: now version ${r.version} (job `, jobAnchor(ended.id), ")"), unifiedView(r.diff, "patch diff")));
  } else {
    replace(status, errorBox(ended.error ?? { code: ended.state, message: `the patch ended ${ended.state}` }), h("p", {}, jobAnchor(ended.id)));
  }
}
