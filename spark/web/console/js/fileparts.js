// Pieces the Files panel, its patch form and its undo share: a short link to a job and the
// notice card that says what a write did.

import { h } from "./dom.js";

/** A link to a job's page, named by the start of its id (the row says what the job was). */
export function jobAnchor(jobId) {
  return h("a", { href: `/console/jobs/${jobId}`, class: "job-link" }, jobId.slice(0, 8));
}

/** A card announcing what just happened, read out by screen readers. */
export function notice(...children) {
  return h("div", { class: "card notice", role: "status" }, ...children);
}
