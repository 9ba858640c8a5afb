// Presets: the game templates, each with its scripts, settings and build options, applied
// to a project as an apply_preset job; the files it wrote link into Files.

import { getJson, submit } from "../api.js";
import { h, replace } from "../dom.js";
import { watchJob } from "../jobwatch.js";
import { loadProjects, noProjects } from "../projects.js";
import { consoleUrl } from "../router.js";
import { codeView, errorBox, field, jobLink, progressBar, select, stateBadge } from "../ui.js";

/** The build settings that are build options (what unity_build takes); the rest are settings. */
const BUILD_OPTIONS = new Set(["target", "compression", "development"]);

export default {
  title: "Presets",
  async render(ctx, route) {
    const controller = new AbortController();
    const stops = [];
    const [id] = route.rest;
    if (id) await presetPage(ctx, id, controller.signal, stops);
    else await presetList(ctx, controller.signal);
    return () => {
      stops.forEach((stop) => stop());
      controller.abort();
    };
  },
};

async function presetList(ctx, signal) {
  const { items } = await getJson("/v1/presets", {}, signal);
  replace(
    ctx.main,
    h("h1", {}, "Presets"),
    h("p", { class: "muted" }, "Game templates: scripts and the build settings that suit them, written into a project."),
    h(
      "div",
      { class: "cards" },
      items.map((preset) =>
        h(
          "article",
          { class: "card preset-card" },
          h("h2", {}, h("a", { href: consoleUrl("presets", [preset.id]) }, preset.name)),
          h("p", {}, preset.description),
          h("p", { class: "muted" }, `${preset.files.length} scripts · ${buildSummary(preset.build_settings)}`),
        ),
      ),
    ),
  );
}

function buildSummary(settings) {
  const { target, compression, development } = settings;
  return `${target}, ${compression}${development ? ", development" : ""}`;
}

async function presetPage(ctx, id, signal, stops) {
  const [preset, projects] = await Promise.all([getJson(`/v1/presets/${encodeURIComponent(id)}`, {}, signal), loadProjects(signal)]);
  const entries = Object.entries(preset.build_settings);
  replace(
    ctx.main,
    h("p", {}, h("a", { href: consoleUrl("presets") }, "← All presets")),
    h("h1", {}, preset.name),
    h("p", {}, preset.description),
    h(
      "div",
      { class: "columns" },
      h(
        "div",
        {},
        applyForm(ctx, preset, projects, stops),
        settingsTable("Build options", entries.filter(([k]) => BUILD_OPTIONS.has(k))),
        settingsTable("Settings", entries.filter(([k]) => !BUILD_OPTIONS.has(k))),
      ),
      h(
        "section",
        { class: "preset-scripts", "aria-labelledby": "scripts" },
        h("h2", { id: "scripts" }, "Scripts"),
        preset.files.map((file) =>
          h("figure", { class: "script" }, h("figcaption", { class: "mono" }, file.path), codeView(file.content)),
        ),
      ),
    ),
  );
}

function settingsTable(title, entries) {
  return h(
    "section",
    { class: "card" },
    h("h2", {}, title),
    h("table", { "aria-label": title }, h("tbody", {}, entries.map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k.replaceAll("_", " ")), h("td", {}, String(v)))))),
  );
}

/** Project select and namespace; submits apply_preset and follows it to the files it wrote. */
function applyForm(ctx, preset, projects, stops) {
  if (!projects.length) return h("section", { class: "card" }, h("h2", {}, "Apply to project"), noProjects());
  const project = select(projects.map((p) => [p.id, p.name]), projects[0].id);
  const namespace = h("input", { type: "text", spellcheck: "false", pattern: "[A-Za-z][A-Za-z0-9_]*(\\.[A-Za-z][A-Za-z0-9_]*)*", placeholder: "none" });
  const button = h("button", { type: "submit", class: "primary" }, "Apply");
  const outcome = h("div", { class: "apply-outcome", "aria-live": "polite" });
  const onSubmit = async (event) => {
    event.preventDefault();
    button.disabled = true;
    stops.splice(0).forEach((stop) => stop());
    const params = { preset_id: preset.id };
    if (namespace.value.trim()) params.namespace = namespace.value.trim();
    let job;
    try {
      job = await submit("apply_preset", params, { project_id: project.value });
    } catch (error) {
      button.disabled = false;
      return replace(outcome, errorBox(error));
    }
    const bar = h("div", {}, progressBar(job.progress, job.state));
    replace(outcome, h("p", {}, jobLink(job), " ", stateBadge(job.state)), bar);
    stops.push(
      watchJob(ctx.feed, job.id, {
        onEvent: (e) => e.type === "progress" && replace(bar, progressBar(e.data, "running")),
        onEnd: (ended) => {
          button.disabled = false;
          replace(outcome, h("p", {}, jobLink(ended), " ", stateBadge(ended.state)), applied(ended));
        },
      }),
    );
  };
  return h(
    "form",
    { class: "card", on: { submit: onSubmit } },
    h("h2", {}, "Apply to project"),
    field("Project", project),
    field("Namespace", namespace, "optional: wraps every script in this C# namespace"),
    button,
    outcome,
  );
}

/** What an ended apply_preset did: the files it wrote, each a link into Files, or its error. */
function applied(job) {
  if (job.state !== "succeeded") return errorBox(job.error);
  const written = job.result?.written ?? [];
  return h(
    "section",
    { "aria-labelledby": "written" },
    h("h3", { id: "written" }, `Wrote ${written.length} files`),
    h(
      "ul",
      { class: "written" },
      written.map((file) =>
        h(
          "li",
          {},
          h("a", { href: consoleUrl("files", [], { project: job.project_id, path: file.path }) }, file.path),
          h("span", { class: "muted" }, ` version ${file.version}`),
        ),
      ),
    ),
  );
}
