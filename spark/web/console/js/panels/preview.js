// Preview: a frame from the project's Unity editor at an exact size. The frame shows when its
// `frame` event arrives on the feed; the session's earlier frames run along a strip below.

import { blobUrl, getJson, submit } from "../api.js";
import { h, replace } from "../dom.js";
import { watchJob } from "../jobwatch.js";
import { loadProjects, projectPicker } from "../projects.js";
import { consoleUrl } from "../router.js";
import { errorBox, field, jobLink, progressBar, select, when } from "../ui.js";

const SIZES = [
  ["1280x720", "1280 × 720"],
  ["1920x1080", "1920 × 1080"],
  ["custom", "Custom"],
];
const DEFAULT_SESSION = "console";
const EDITOR_HINT =
  "Open the project in Unity with the MCP for Unity plugin running, and check that the project's unity_mcp_url points at its server.";

export default {
  title: "Preview",
  async render(ctx, route) {
    const controller = new AbortController();
    const projects = await loadProjects(controller.signal);
    const panel = new PreviewPanel(ctx, route, projects, controller);
    panel.build();
    panel.loadScenes();
    panel.loadStrip();
    return () => panel.close();
  },
};

/** The form's inputs by name; a preset size fills width and height, Custom shows them. */
function formInputs(session) {
  const inputs = {
    sceneList: h("datalist", { id: "preview-scenes" }),
    scene: h("input", { id: "preview-scene", list: "preview-scenes", placeholder: "Assets/Scenes/Main.unity", spellcheck: "false" }),
    camera: h("input", { id: "preview-camera", placeholder: "the scene's main camera", spellcheck: "false" }),
    size: select(SIZES, "1280x720", { id: "preview-size" }),
    width: h("input", { id: "preview-width", type: "number", min: "1", max: "4096", value: "1280", required: true }),
    height: h("input", { id: "preview-height", type: "number", min: "1", max: "4096", value: "720", required: true }),
    format: select([["png", "PNG"], ["jpg", "JPEG"]], "png", { id: "preview-format" }),
    session: h("input", { id: "preview-session", value: session, pattern: "[A-Za-z0-9_\\-]{1,64}", required: true, spellcheck: "false" }),
  };
  const { size, width, height } = inputs;
  inputs.custom = h("div", { class: "toolbar", hidden: true }, field("Width", width), field("Height", height));
  size.addEventListener("change", () => {
    inputs.custom.hidden = size.value !== "custom";
    if (size.value !== "custom") [width.value, height.value] = size.value.split("x");
  });
  return inputs;
}

function previewForm(inputs, picker, onSubmit) {
  const { sceneList, scene, camera, size, format, session, custom } = inputs;
  return h(
    "form",
    { class: "preview-form", on: { submit: (e) => (e.preventDefault(), onSubmit()) } },
    h("div", { class: "toolbar" }, picker, field("Scene", scene, "a .unity file, or empty for the open scene"), sceneList, field("Camera", camera, "optional")),
    h("div", { class: "toolbar" }, field("Size", size), field("Format", format), field("Session", session)),
    custom,
    h("div", { class: "toolbar" }, h("button", { type: "submit", class: "primary" }, "Render preview")),
  );
}

/** The render_preview params the form asks for. */
function previewParams({ width, height, format, scene, camera }) {
  const params = { width: Number(width.value), height: Number(height.value), format: format.value };
  if (scene.value.trim()) params.scene = scene.value.trim();
  if (camera.value.trim()) params.camera = camera.value.trim();
  return params;
}

/** What a finished frame's caption says: size, format, cached or rendered, its job. */
function caption(job) {
  const r = job.result;
  const cached = r.cached ? "cached" : "rendered";
  const title = r.cached ? "served from the preview cache" : "captured by the editor";
  return [
    `${r.width} × ${r.height} · ${job.params?.format ?? "png"} · `,
    h("span", { class: `badge badge-${cached}`, title }, cached),
    " · ",
    jobLink(job),
  ];
}

function artifactHref(job) {
  return `/v1/jobs/${job.id}/artifacts/${job.result.artifact}`;
}

/** One visit to the panel: the chosen project and session, its elements, and what to end on leaving. */
class PreviewPanel {
  constructor(ctx, route, projects, controller) {
    this.ctx = ctx;
    this.projects = projects;
    this.controller = controller;
    this.signal = controller.signal;
    this.urls = new Set(); // blob: URLs this panel made, revoked when it closes
    this.stopWatch = null;
    this.stripRead = 0; // only the newest read fills the strip, however the answers arrive
    this.projectId = route.query.get("project") ?? projects[0]?.id ?? "";
    this.session = route.query.get("session") || DEFAULT_SESSION;
  }

  build() {
    this.inputs = formInputs(this.session);
    this.inputs.session.addEventListener("change", () => this.sessionChanged());
    const form = previewForm(this.inputs, this.picker(), () => this.requestFrame());
    this.status = h("div", { class: "preview-status", "aria-live": "polite" });
    this.frame = h("figure", { class: "preview-frame" });
    this.strip = h("div", { class: "strip", role: "list", "aria-label": "earlier frames" });
    this.stripTitle = h("h2", {}, "Earlier frames");
    replace(this.ctx.main, h("h1", {}, "Preview"), form, this.status, this.frame, this.stripTitle, this.strip);
  }

  /** The project picker, with SPARK's own editor as a choice; none without projects. */
  picker() {
    if (!this.projects.length) return null;
    const choices = [...this.projects, { id: "", name: "No project (SPARK's editor)" }];
    return projectPicker(choices, this.projectId, (id) => this.projectChanged(id), "preview-project");
  }

  projectChanged(id) {
    this.projectId = id;
    this.keepUrl();
    this.loadScenes();
    this.loadStrip();
  }

  sessionChanged() {
    if (!this.inputs.session.checkValidity()) return;
    this.session = this.inputs.session.value;
    this.keepUrl();
    this.loadStrip();
  }

  // the URL follows the choices without a new history entry, so a reload keeps them
  keepUrl() {
    history.replaceState(null, "", consoleUrl("preview", [], { project: this.projectId, session: this.session }));
  }

  async image(href) {
    const url = await blobUrl(href, this.signal);
    this.urls.add(url);
    return url;
  }

  async loadScenes() {
    const { sceneList } = this.inputs;
    replace(sceneList);
    if (!this.projectId) return;
    try {
      const page = await getJson(`/v1/projects/${this.projectId}/files`, { prefix: "Assets/", limit: 200 }, this.signal);
      const scenes = page.items.filter((f) => f.path.endsWith(".unity"));
      replace(sceneList, scenes.map((f) => h("option", { value: f.path })));
    } catch {
      // scenes are a convenience: the field takes any path
    }
  }

  showFrame(href, w, hgt, label) {
    const img = h("img", { class: "frame", alt: `Preview frame, ${w} × ${hgt}` });
    replace(this.frame, img, h("figcaption", {}, label));
    this.image(href)
      .then((url) => {
        img.src = url;
      })
      .catch((error) => {
        if (!this.signal.aborted) replace(this.frame, errorBox(error));
      });
  }

  async requestFrame() {
    this.stopWatch?.();
    replace(this.frame);
    replace(this.status, h("p", {}, "Submitting…"));
    let job;
    try {
      job = await submit("render_preview", previewParams(this.inputs), { session_id: this.session, project_id: this.projectId || undefined });
    } catch (error) {
      replace(this.status, errorBox(error));
      return;
    }
    this.follow(job);
  }

  /** Show the frame as soon as its event arrives, then settle the job when it ends. */
  follow(job) {
    let shown = false;
    const waiting = h("p", { class: "waiting" }, "Waiting for frame… ", progressBar(null, job.state), " ", jobLink(job));
    replace(this.status, waiting);
    this.stopWatch = watchJob(this.ctx.feed, job.id, {
      onEvent: (event) => {
        if (event.type === "progress") {
          waiting.querySelector(".progress")?.replaceWith(progressBar(event.data, "running"));
        } else if (event.type === "frame" && !shown) {
          shown = true;
          const { href, width: w, height: hgt } = event.data;
          this.showFrame(href, w, hgt, `${w} × ${hgt}`);
        }
      },
      onEnd: (ended) => {
        this.settle(ended, shown);
        shown = true;
      },
    });
  }

  settle(job, shown) {
    if (job.state === "succeeded") {
      const r = job.result;
      // the frame event may have been missed (a reconnect): the result names the same image
      if (!shown) this.showFrame(artifactHref(job), r.width, r.height, "");
      replace(this.frame.querySelector("figcaption"), caption(job));
      replace(this.status);
      this.loadStrip(job.id);
      return;
    }
    replace(this.status, errorBox(job.error ?? { code: job.state, message: `the preview ended ${job.state}` }));
    if (job.error?.code === "editor_unavailable") {
      const editor = this.projects.find((p) => p.id === job.project_id)?.unity_mcp_url;
      this.status.append(h("p", { class: "hint editor-hint" }, EDITOR_HINT, editor ? ` It is now ${editor}.` : ""));
    }
    this.status.append(h("p", {}, jobLink(job)));
  }

  /** The session's earlier frames; `current`, the frame just shown, is left out. */
  async loadStrip(current) {
    const read = ++this.stripRead;
    this.stripTitle.textContent = `Earlier frames in session ${this.session}`;
    let page;
    try {
      const query = { kind: "render_preview", session_id: this.session, project_id: this.projectId || undefined, state: "succeeded", limit: 20 };
      page = await getJson("/v1/jobs", query, this.signal);
    } catch (error) {
      if (!this.signal.aborted && read === this.stripRead) replace(this.strip, errorBox(error));
      return;
    }
    if (read !== this.stripRead) return;
    const jobs = page.items.filter((job) => job.id !== current && job.result?.artifact);
    if (!jobs.length) {
      replace(this.strip, h("p", { class: "muted" }, "No earlier frames in this session."));
      return;
    }
    replace(this.strip, jobs.map((job) => this.thumbnail(job)));
  }

  thumbnail(job) {
    const r = job.result;
    const href = artifactHref(job);
    const label = `${r.width} × ${r.height}${job.params?.scene ? ` ${job.params.scene}` : ""}`;
    const img = h("img", { alt: `Frame ${label}` });
    this.image(href).then((url) => (img.src = url), () => img.replaceWith(h("span", { class: "muted" }, "unavailable")));
    const show = () => this.showFrame(href, r.width, r.height, caption(job));
    const button = h("button", { type: "button", class: "thumb", title: label, on: { click: show } }, img);
    return h("div", { role: "listitem", class: "thumb-item" }, button, h("small", {}, label, " · ", when(job.created_at)));
  }

  close() {
    this.stopWatch?.();
    this.controller.abort();
    for (const url of this.urls) URL.revokeObjectURL(url);
  }
}
