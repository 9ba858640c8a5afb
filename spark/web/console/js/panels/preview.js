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
    const { signal } = controller;
    const urls = new Set(); // blob: URLs this panel made, revoked when it closes
    let stopWatch = null;

    const projects = await loadProjects(signal);
    let projectId = route.query.get("project") ?? projects[0]?.id ?? "";
    let session = route.query.get("session") || DEFAULT_SESSION;

    const image = async (href) => {
      const url = await blobUrl(href, signal);
      urls.add(url);
      return url;
    };

    // --- the form
    const sceneList = h("datalist", { id: "preview-scenes" });
    const scene = h("input", { id: "preview-scene", list: "preview-scenes", placeholder: "Assets/Scenes/Main.unity", spellcheck: "false" });
    const camera = h("input", { id: "preview-camera", placeholder: "the scene's main camera", spellcheck: "false" });
    const size = select(SIZES, "1280x720", { id: "preview-size" });
    const width = h("input", { id: "preview-width", type: "number", min: "1", max: "4096", value: "1280", required: true });
    const height = h("input", { id: "preview-height", type: "number", min: "1", max: "4096", value: "720", required: true });
    const custom = h("div", { class: "toolbar", hidden: true }, field("Width", width), field("Height", height));
    const format = select([["png", "PNG"], ["jpg", "JPEG"]], "png", { id: "preview-format" });
    const sessionInput = h("input", { id: "preview-session", value: session, pattern: "[A-Za-z0-9_\\-]{1,64}", required: true, spellcheck: "false" });
    size.addEventListener("change", () => {
      custom.hidden = size.value !== "custom";
      if (size.value !== "custom") [width.value, height.value] = size.value.split("x");
    });

    const keepUrl = () => {
      history.replaceState(null, "", consoleUrl("preview", [], { project: projectId, session }));
    };
    const picker = projects.length
      ? projectPicker(
          [...projects, { id: "", name: "No project (SPARK's editor)" }],
          projectId,
          (id) => {
            projectId = id;
            keepUrl();
            loadScenes();
            loadStrip();
          },
          "preview-project",
        )
      : null;
    sessionInput.addEventListener("change", () => {
      if (!sessionInput.checkValidity()) return;
      session = sessionInput.value;
      keepUrl();
      loadStrip();
    });

    const form = h(
      "form",
      { class: "preview-form", on: { submit: (e) => (e.preventDefault(), request()) } },
      h("div", { class: "toolbar" }, picker, field("Scene", scene, "a .unity file, or empty for the open scene"), sceneList, field("Camera", camera, "optional")),
      h("div", { class: "toolbar" }, field("Size", size), field("Format", format), field("Session", sessionInput)),
      custom,
      h("div", { class: "toolbar" }, h("button", { type: "submit", class: "primary" }, "Render preview")),
    );

    // --- the frame and the strip
    const status = h("div", { class: "preview-status", "aria-live": "polite" });
    const frame = h("figure", { class: "preview-frame" });
    const strip = h("div", { class: "strip", role: "list", "aria-label": "earlier frames" });
    const stripTitle = h("h2", {}, "Earlier frames");

    replace(ctx.main, h("h1", {}, "Preview"), form, status, frame, stripTitle, strip);

    async function loadScenes() {
      replace(sceneList);
      if (!projectId) return;
      try {
        const page = await getJson(`/v1/projects/${projectId}/files`, { prefix: "Assets/", limit: 200 }, signal);
        const scenes = page.items.filter((f) => f.path.endsWith(".unity"));
        replace(sceneList, scenes.map((f) => h("option", { value: f.path })));
      } catch {
        // scenes are a convenience: the field takes any path
      }
    }

    function showFrame(href, w, hgt, label) {
      const img = h("img", { class: "frame", alt: `Preview frame, ${w} × ${hgt}` });
      replace(frame, img, h("figcaption", {}, label));
      image(href)
        .then((url) => {
          img.src = url;
        })
        .catch((error) => {
          if (!signal.aborted) replace(frame, errorBox(error));
        });
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

    function settle(job, shown) {
      if (job.state === "succeeded") {
        const r = job.result;
        if (!shown) showFrame(`/v1/jobs/${job.id}/artifacts/${r.artifact}`, r.width, r.height, "");
        replace(frame.querySelector("figcaption"), caption(job));
        replace(status);
        loadStrip(job.id);
        return;
      }
      replace(status, errorBox(job.error ?? { code: job.state, message: `the preview ended ${job.state}` }));
      if (job.error?.code === "editor_unavailable") {
        const editor = projects.find((p) => p.id === job.project_id)?.unity_mcp_url;
        status.append(h("p", { class: "hint editor-hint" }, EDITOR_HINT, editor ? ` It is now ${editor}.` : ""));
      }
      status.append(h("p", {}, jobLink(job)));
    }

    async function request() {
      stopWatch?.();
      replace(frame);
      replace(status, h("p", {}, "Submitting…"));
      const params = { width: Number(width.value), height: Number(height.value), format: format.value };
      if (scene.value.trim()) params.scene = scene.value.trim();
      if (camera.value.trim()) params.camera = camera.value.trim();
      let job;
      try {
        job = await submit("render_preview", params, { session_id: session, project_id: projectId || undefined });
      } catch (error) {
        replace(status, errorBox(error));
        return;
      }
      let shown = false;
      const waiting = h("p", { class: "waiting" }, "Waiting for frame… ", progressBar(null, job.state), " ", jobLink(job));
      replace(status, waiting);
      stopWatch = watchJob(ctx.feed, job.id, {
        onEvent(event) {
          if (event.type === "progress") {
            waiting.querySelector(".progress")?.replaceWith(progressBar(event.data, "running"));
          } else if (event.type === "frame" && !shown) {
            shown = true;
            const { href, width: w, height: hgt } = event.data;
            showFrame(href, w, hgt, `${w} × ${hgt}`);
          }
        },
        onEnd(ended) {
          settle(ended, shown);
          shown = true;
        },
      });
    }

    let stripRead = 0; // only the newest read fills the strip, however the answers arrive
    async function loadStrip(current) {
      const read = ++stripRead;
      stripTitle.textContent = `Earlier frames in session ${session}`;
      let page;
      try {
        const query = { kind: "render_preview", session_id: session, project_id: projectId || undefined, state: "succeeded", limit: 20 };
        page = await getJson("/v1/jobs", query, signal);
      } catch (error) {
        if (!signal.aborted && read === stripRead) replace(strip, errorBox(error));
        return;
      }
      if (read !== stripRead) return;
      const jobs = page.items.filter((job) => job.id !== current && job.result?.artifact);
      if (!jobs.length) {
        replace(strip, h("p", { class: "muted" }, "No earlier frames in this session."));
        return;
      }
      replace(strip, jobs.map((job) => thumbnail(job)));
    }

    function thumbnail(job) {
      const r = job.result;
      const href = `/v1/jobs/${job.id}/artifacts/${r.artifact}`;
      const label = `${r.width} × ${r.height}${job.params?.scene ? ` ${job.params.scene}` : ""}`;
      const img = h("img", { alt: `Frame ${label}` });
      image(href).then((url) => (img.src = url), () => img.replaceWith(h("span", { class: "muted" }, "unavailable")));
      const show = () => showFrame(href, r.width, r.height, caption(job));
      const button = h("button", { type: "button", class: "thumb", title: label, on: { click: show } }, img);
      return h("div", { role: "listitem", class: "thumb-item" }, button, h("small", {}, label, " · ", when(job.created_at)));
    }

    loadScenes();
    loadStrip();
    return () => {
      stopWatch?.();
      controller.abort();
      for (const url of urls) URL.revokeObjectURL(url);
    };
  },
};
