// Following one job through the shared feed until it ends. The feed sends only what happens
// after it opened, so a job that ended while it was (re)connecting is read once by GET; a
// slow check covers a stream that is down for longer.

import { getJson } from "./api.js";
import { TERMINAL } from "./ui.js";

const ENDINGS = new Set(["completed", "failed", "canceled", "timeout"]);
const CHECK_MS = 4000;

/**
 * Call onEvent(envelope) for each of jobId's events and onEnd(job) once, when it is terminal.
 * Returns the function that stops following.
 */
export function watchJob(feed, jobId, { onEvent, onEnd }) {
  let done = false;
  let checking = false;
  const check = async () => {
    if (done || checking) return;
    checking = true;
    try {
      const job = await getJson(`/v1/jobs/${jobId}`);
      if (!done && TERMINAL.has(job.state)) finish(job);
    } catch {
      // the next event, reopen or check reads it again
    } finally {
      checking = false;
    }
  };
  const unsubscribe = feed.subscribe((event) => {
    if (done || event.job_id !== jobId) return;
    onEvent?.(event);
    if (ENDINGS.has(event.type)) check();
  }, check);
  const timer = setInterval(check, CHECK_MS);
  const stop = () => {
    done = true;
    clearInterval(timer);
    unsubscribe();
  };
  const finish = (job) => {
    stop();
    onEnd(job);
  };
  return stop;
}
