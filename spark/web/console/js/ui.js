// Small pieces every panel uses. All text goes in as text (see dom.js).

import { h } from "./dom.js";

export const TERMINAL = new Set(["succeeded", "failed", "canceled", "timed_out"]);

export function stateBadge(state) {
  return h("span", { class: `state state-${state}`, dataset: { state } }, state.replace("_", " "));
}

/** A progress bar with its message; percent null shows an indeterminate bar. */
export function progressBar(progress, state) {
  const percent = progress?.percent ?? (TERMINAL.has(state) ? 100 : null);
  const bar = h("progress", { max: "100", "aria-label": "progress" });
  if (percent !== null) bar.value = percent;
  return h("span", { class: "progress" }, bar, progress?.message ? h("span", { class: "message" }, progress.message) : null);
}

/** An API error as the user should read it: code, message, details. */
export function errorBox(error) {
  const details = error?.details && Object.keys(error.details).length ? JSON.stringify(error.details, null, 2) : null;
  return h(
    "div",
    { class: "error", role: "alert" },
    h("strong", { class: "code" }, error?.code ?? "error"),
    " ",
    h("span", { class: "message" }, error?.message ?? String(error)),
    details ? h("pre", { class: "details" }, details) : null,
  );
}

export function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return h("time", { datetime: iso, title: date.toISOString() }, date.toLocaleString());
}

export function bytes(n) {
  if (n === null || n === undefined) return "";
  const units = ["B", "KB", "MB", "GB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) (n /= 1024), i++;
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

export function jobLink(job) {
  return h("a", { href: `/console/jobs/${job.id}`, class: "job-link" }, `${job.kind} ${job.id.slice(0, 8)}`);
}

/** Text with numbered lines; lines in `marked` (a Set of 1-based numbers) are highlighted. */
export function codeView(text, marked = new Set()) {
  const lines = text.split("\n");
  return h(
    "pre",
    { class: "code" },
    lines.map((line, i) =>
      h("span", { class: marked.has(i + 1) ? "line marked" : "line", dataset: { line: String(i + 1) } }, line, "\n"),
    ),
  );
}

/** Ask the user to confirm; resolves true or false. A modal <dialog>, keyboard-friendly. */
export function confirmDialog(title, ...body) {
  return new Promise((resolve) => {
    const dialog = h(
      "dialog",
      { class: "confirm" },
      h("h2", {}, title),
      ...body,
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", on: { click: () => dialog.close("cancel") } }, "Cancel"),
        h("button", { type: "button", class: "primary", on: { click: () => dialog.close("ok") } }, "Confirm"),
      ),
    );
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "ok");
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** A labelled form field. */
export function field(label, input, hint) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), input, hint ? h("small", {}, hint) : null);
}

/** A <select> of options [[value, label]], the chosen one selected. */
export function select(options, chosen, attrs = {}) {
  return h(
    "select",
    attrs,
    options.map(([value, label]) => h("option", { value, selected: value === chosen }, label ?? value)),
  );
}
