// The console's pages are paths under /console (the server answers each with the same page),
// so the back button, a reload and a shared link all work. Panels load on first visit.

const PANELS = {
  activity: () => import("./panels/activity.js"),
  jobs: () => import("./panels/job.js"),
  preview: () => import("./panels/preview.js"),
  files: () => import("./panels/files.js"),
  presets: () => import("./panels/presets.js"),
  builds: () => import("./panels/builds.js"),
  usage: () => import("./panels/usage.js"),
  sessions: () => import("./panels/sessions.js"),
};

export const NAV = [
  ["activity", "Activity"],
  ["sessions", "Sessions"],
  ["preview", "Preview"],
  ["files", "Files and undo"],
  ["presets", "Presets"],
  ["builds", "Builds"],
  ["usage", "Usage"],
];

/** {panel, rest: [path segments after it], query: URLSearchParams} of a console URL. */
export function parse(url) {
  const parsed = new URL(url, location.origin);
  const segments = parsed.pathname.replace(/^\/console\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  const panel = segments[0] && PANELS[segments[0]] ? segments[0] : "activity";
  return { panel, rest: segments.slice(1), query: parsed.searchParams };
}

export async function load(panel) {
  return (await PANELS[panel]()).default;
}

/** A console URL: consoleUrl("files", [], {project: id, path: "Assets/A.cs"}). */
export function consoleUrl(panel, rest = [], query = {}) {
  const path = ["/console", panel, ...rest.map(encodeURIComponent)].join("/");
  const pairs = Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== "");
  return pairs.length ? `${path}?${new URLSearchParams(pairs)}` : path;
}
