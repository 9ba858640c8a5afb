// A job's log, followed live: GET /v1/jobs/{id}/log from the last offset until the API says
// the log is complete (the job ended and every line was read). Errors and warnings are
// highlighted, and a script's file:line becomes a link into Files when the job has a project.

import { request } from "./api.js";
import { h } from "./dom.js";
import { consoleUrl } from "./router.js";

const WHERE = /(Assets\/[^\s:()'"]+\.cs)(?:\((\d+),\d+\)|:(\d+))/;
const ERROR = /(^|[^A-Za-z])(error|exception|failed|failure)([^A-Za-z]|$)/i;
const WARNING = /(^|[^A-Za-z])warning([^A-Za-z]|$)/i;
const IDLE_MS = 700;

/** One log line as an element: classed error-line / warning-line, file:line linked. */
export function logLine(text, projectId) {
  const cls = ERROR.test(text) ? "line error-line" : WARNING.test(text) ? "line warning-line" : "line";
  const found = WHERE.exec(text);
  if (!found) return h("span", { class: cls }, text, "\n");
  const [match, path, parenLine, colonLine] = found;
  const line = parenLine ?? colonLine;
  const where = projectId
    ? h("a", { class: "where", href: consoleUrl("files", [], { project: projectId, path, line }) }, match)
    : h("span", { class: "where" }, match);
  return h("span", { class: cls }, text.slice(0, found.index), where, text.slice(found.index + match.length), "\n");
}

/**
 * Follow jobId's log into a new <pre class="log"> (returned at once). onDone(lineCount) runs
 * once the log is complete. Stops when signal aborts.
 */
export function followLog(jobId, { projectId, signal, onDone } = {}) {
  const pre = h("pre", { class: "log", "aria-label": "log", tabindex: "0", dataset: { complete: "false" } });
  let offset = 0;
  let count = 0;
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  (async () => {
    while (!signal?.aborted) {
      let response;
      try {
        response = await request(`/v1/jobs/${jobId}/log`, { params: { offset_lines: offset }, signal });
      } catch (error) {
        if (signal?.aborted) return;
        await sleep(IDLE_MS * 3);
        continue;
      }
      const text = await response.text();
      const next = Number(response.headers.get("X-Next-Offset") ?? offset);
      const complete = response.headers.get("X-Log-Complete") === "true";
      const lines = text === "" ? [] : text.replace(/\n$/, "").split("\n");
      const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      pre.append(...lines.map((line) => logLine(line, projectId)));
      count += lines.length;
      if (atBottom) pre.scrollTop = pre.scrollHeight;
      const moved = next !== offset;
      offset = next;
      if (complete && !moved) {
        pre.dataset.complete = "true";
        onDone?.(count);
        return;
      }
      if (!moved) await sleep(IDLE_MS);
    }
  })();
  return pre;
}
