// Builds: start a Unity build, follow it to its artifacts, recent builds, and the farm.

import { blobUrl, getJson, submit } from "../api.js";
import { h, replace } from "../dom.js";
import { watchJob } from "../jobwatch.js";
import { loadProjects, noProjects } from "../projects.js";
import { followLog } from "../log.js";
import { consoleUrl } from "../router.js";
import { TERMINAL, bytes, errorBox, field, jobLink, progressBar, select, stateBadge, when } from "../ui.js";

/** Every target a build may name (CONTRACT §5). */
const TARGETS = [
  "StandaloneOSX", "StandaloneWindows", "StandaloneWindows64", "StandaloneLinux64", "iOS",
  "Android", "WebGL", "WSAPlayer", "PS4", "XboxOne", "tvOS", "VisionOS", "Switch",
];
const FARM_MS = 5000;
const RECENT = 10;

export default {
  title: "Builds",
  async render(ctx, route) {
    const controller = new AbortController();
    const { signal } = controller;
    const stops = [];
    const current = buildArea();
    const recent = h("section", { "aria-labelledby": "recent-builds" });
    const farm = h("section", { "aria-labelledby": "farm" });
    const projects = await loadProjects(signal);
    const showRecent = () => recentBuilds(recent, signal);
    const follow = (jobId) => {
      stops.splice(0).forEach((stop) => stop());
      stops.push(followBuild(ctx, current, jobId, signal, showRecent));
      showRecent();
    };
    // a build started or ended elsewhere (CLI, MCP, another tab) shows up here too
    const unsubscribe = ctx.feed.subscribe((event) => {
      if (event.job_kind === "unity_build" && event.type !== "progress") showRecent();
    }, showRecent);
    replace(
      ctx.main,
      h("h1", {}, "Builds"),
      h("div", { class: "columns" }, buildForm(projects, route.query.get("project"), follow), current),
      recent,
      farm,
    );
    if (route.query.get("job")) follow(route.query.get("job"));
    else showRecent();
    const timer = setInterval(() => showFarm(farm, signal), FARM_MS);
    showFarm(farm, signal);
    return () => {
      clearInterval(timer);
      unsubscribe();
      stops.forEach((stop) => stop());
      controller.abort();
    };
  },
};

/** Where the build started (or named in the URL) is followed; until then, what it will show. */
function buildArea() {
  return h(
    "section",
    { class: "build-current", "aria-label": "Build" },
    h("p", { class: "muted" }, "A build started here is followed here: its progress, its log and then its artifacts."),
  );
}

/** The inputs of the build form, by the name of what they hold. */
function buildInputs(projects, chosenProject) {
  return {
    project: select(projects.map((p) => [p.id, p.name]), chosenProject ?? projects[0].id),
    target: select(TARGETS.map((t) => [t]), "WebGL"),
    development: h("input", { type: "checkbox" }),
    compression: select([["gzip"], ["brotli"], ["none"]], "gzip"),
    androidFormat: select([["apk", "apk (install)"], ["aab", "aab (Google Play)"]], "apk"),
    ref: h("input", { type: "text", placeholder: "default branch", spellcheck: "false" }),
  };
}

/** The build's params as the form holds them; an empty ref is left out (the default branch). */
function buildParams({ target, development, compression, androidFormat, ref }) {
  const options = { compression: compression.value };
  if (target.value === "Android") options.android_format = androidFormat.value;
  const params = { target: target.value, development: development.checked, options };
  if (ref.value.trim()) params.ref = ref.value.trim();
  return params;
}

/** Submit the form's build and follow it, or say in `status` why it was refused. */
async function startBuild(inputs, status, button, onStarted) {
  button.disabled = true;
  replace(status);
  const params = buildParams(inputs);
  try {
    const job = await submit("unity_build", params, { project_id: inputs.project.value });
    // the URL names the build, so a reload or a shared link follows the same one
    history.replaceState(null, "", consoleUrl("builds", [], { job: job.id }));
    onStarted(job.id);
  } catch (error) {
    replace(status, errorBox(error));
  } finally {
    button.disabled = false;
  }
}

/** The form that submits unity_build; onStarted(jobId) follows the new build. */
function buildForm(projects, chosenProject, onStarted) {
  if (!projects.length) return h("section", {}, h("h2", {}, "Start a build"), noProjects());
  const inputs = buildInputs(projects, chosenProject);
  // the Android format only means something for Android builds
  const androidField = field("Android format", inputs.androidFormat);
  const showAndroid = () => (androidField.hidden = inputs.target.value !== "Android");
  inputs.target.addEventListener("change", showAndroid);
  showAndroid();
  const status = h("div", { "aria-live": "polite" });
  const button = h("button", { type: "submit", class: "primary" }, "Start build");
  const onSubmit = (event) => {
    event.preventDefault();
    startBuild(inputs, status, button, onStarted);
  };
  return h(
    "form",
    { class: "card build-form", on: { submit: onSubmit } },
    h("h2", {}, "Start a build"),
    field("Project", inputs.project),
    field("Target", inputs.target),
    h("div", { class: "field checkbox" }, h("label", {}, inputs.development, " Development build")),
    field("Compression", inputs.compression),
    androidField,
    field("Git ref", inputs.ref, "optional: a branch, tag or commit"),
    button,
    status,
  );
}

/** One build shown live in `into`: state, progress, log, then (once) its artifacts. */
class BuildView {
  constructor(into, jobId, signal, onEnd) {
    this.into = into;
    this.jobId = jobId;
    this.signal = signal;
    this.onEnd = onEnd;
    // the log stops with the panel, or earlier when another build is followed
    this.logs = new AbortController();
    signal.addEventListener("abort", () => this.logs.abort());
    this.badge = h("span", { class: "build-state" });
    this.bar = h("div", { class: "build-progress" });
    this.artifacts = h("div", { class: "artifacts" });
    this.logSlot = h("div", { class: "muted" }, "Reading the log…");
    this.ended = false;
    const link = h("a", { href: consoleUrl("jobs", [jobId]) }, jobId.slice(0, 8));
    const heading = h("h2", {}, "Build ", link, " ", this.badge);
    replace(into, heading, this.bar, h("h3", {}, "Log"), this.logSlot, this.artifacts);
  }

  show(job) {
    replace(this.badge, stateBadge(job.state));
    replace(this.bar, progressBar(job.progress, job.state), job.error ? errorBox(job.error) : null);
  }

  end(job) {
    if (this.ended) return;
    this.ended = true;
    this.show(job);
    showArtifacts(this.artifacts, job, this.signal);
    this.onEnd();
  }

  /** An event of the build before it ended: cheaper than reading the job again. */
  heard(event) {
    if (this.ended) return;
    if (event.type === "started") replace(this.badge, stateBadge("running"));
    if (event.type === "progress") replace(this.bar, progressBar(event.data, "running"));
  }

  /** The first read: the log starts, and a build that already ended shows as ended. */
  read(stopWatching) {
    getJson(`/v1/jobs/${this.jobId}`, {}, this.signal)
      .then((job) => {
        this.logSlot.replaceWith(followLog(this.jobId, { projectId: job.project_id, signal: this.logs.signal }));
        if (TERMINAL.has(job.state)) this.end(job);
        else if (!this.ended) this.show(job);
      })
      .catch((error) => {
        // not a build of this user's (or not a job at all): nothing to follow
        stopWatching();
        if (!this.signal.aborted) replace(this.into, errorBox(error));
      });
  }
}

/** Show one build live in `into`: state, progress, log, then artifacts. Returns stop(). */
function followBuild(ctx, into, jobId, signal, onEnd) {
  const view = new BuildView(into, jobId, signal, onEnd);
  // watched from the start, so no event between the submission and the first read is lost
  const stopWatching = watchJob(ctx.feed, jobId, {
    onEvent: (event) => view.heard(event),
    onEnd: (job) => view.end(job),
  });
  view.read(stopWatching);
  return () => {
    stopWatching();
    view.logs.abort();
  };
}

/** The build's artifacts with a download button each. */
async function showArtifacts(into, job, signal) {
  try {
    const { items } = await getJson(`/v1/jobs/${job.id}/artifacts`, {}, signal);
    if (!items.length) return replace(into, h("p", { class: "muted" }, "No artifacts."));
    replace(
      into,
      h("h3", {}, "Artifacts"),
      h(
        "table",
        {},
        h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Size"), h("th", {}, "SHA-256"), h("th", {}, ""))),
        h("tbody", {}, items.map((item) => artifactRow(item, signal))),
      ),
    );
  } catch (error) {
    if (!signal.aborted) replace(into, errorBox(error));
  }
}

function artifactRow(item, signal) {
  const status = h("span", { "aria-live": "polite" });
  const button = h("button", { type: "button" }, `Download ${item.name}`);
  button.addEventListener("click", async () => {
    button.disabled = true;
    replace(status);
    try {
      await download(item, signal);
    } catch (error) {
      if (!signal.aborted) replace(status, errorBox(error));
    } finally {
      button.disabled = false;
    }
  });
  return h(
    "tr",
    {},
    h("td", {}, item.name),
    h("td", {}, bytes(item.size)),
    h("td", { class: "mono" }, item.sha256.slice(0, 16) + "…"),
    h("td", {}, button, status),
  );
}

/** Fetch with the key, then hand the bytes to the browser as a file (a link cannot send it). */
async function download(item, signal) {
  const url = await blobUrl(item.href, signal);
  const link = h("a", { href: url, download: item.name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  // the download has taken the blob by the next turn; a minute is ample either way
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** The newest builds, each linked to its job page. */
async function recentBuilds(into, signal) {
  try {
    const { items } = await getJson("/v1/jobs", { kind: "unity_build", limit: RECENT }, signal);
    replace(
      into,
      h("h2", { id: "recent-builds" }, "Recent builds"),
      items.length
        ? h(
            "table",
            { class: "recent-builds" },
            h("thead", {}, h("tr", {}, ["Build", "Target", "Development", "State", "Created", "Finished"].map((t) => h("th", {}, t)))),
            h(
              "tbody",
              {},
              items.map((job) =>
                h(
                  "tr",
                  {},
                  h("td", {}, jobLink(job)),
                  h("td", {}, job.params?.target ?? ""),
                  h("td", {}, job.params?.development ? "yes" : "no"),
                  h("td", {}, stateBadge(job.state)),
                  h("td", {}, when(job.created_at)),
                  h("td", {}, when(job.finished_at)),
                ),
              ),
            ),
          )
        : h("p", { class: "muted" }, "No builds yet."),
    );
  } catch (error) {
    if (!signal.aborted) replace(into, h("h2", { id: "recent-builds" }, "Recent builds"), errorBox(error));
  }
}

/** The live builders and the targets none of them builds. */
async function showFarm(into, signal) {
  let farm;
  try {
    farm = await getJson("/v1/farm", {}, signal);
  } catch (error) {
    if (!signal.aborted) replace(into, h("h2", { id: "farm" }, "Build farm"), errorBox(error));
    return;
  }
  const rows = farm.builders.map((b) =>
    h(
      "tr",
      { dataset: { host: b.host } },
      h("td", {}, b.host),
      h("td", {}, b.os),
      h("td", {}, b.unity_versions.join(", ")),
      h("td", {}, b.targets.join(", ")),
      h("td", {}, h("span", { class: `state farm-${b.state}` }, b.state)),
      h("td", {}, b.job_id ? h("a", { href: consoleUrl("jobs", [b.job_id]) }, b.job_id.slice(0, 8)) : ""),
      h("td", {}, when(b.last_seen)),
    ),
  );
  const missing = farm.targets_without_builder;
  replace(
    into,
    h("h2", { id: "farm" }, "Build farm"),
    rows.length
      ? h(
          "table",
          { class: "farm", "aria-label": "Builders" },
          h("thead", {}, h("tr", {}, ["Host", "OS", "Unity", "Targets", "State", "Job", "Last seen"].map((t) => h("th", {}, t)))),
          h("tbody", {}, rows),
        )
      : h("p", { class: "muted" }, "No builder is alive: builds wait in the queue until one starts."),
    h("h3", {}, "Targets without a builder"),
    missing.length
      ? h("ul", { class: "targets-missing" }, missing.map((t) => h("li", {}, t)))
      : h("p", { class: "muted" }, "Every target has a builder."),
  );
}
