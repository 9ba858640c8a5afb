// The caller's projects, and a picker that puts the chosen one in the panel's URL.

import { getJson } from "./api.js";
import { h } from "./dom.js";
import { field, select } from "./ui.js";

/** Every project of the caller (pages of 100), newest first. */
export async function loadProjects(signal) {
  const projects = [];
  let cursor;
  do {
    const page = await getJson("/v1/projects", { limit: 100, cursor }, signal);
    projects.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && projects.length < 1000);
  return projects;
}

/** A labelled <select> of projects; onChange(projectId) when the user picks another. */
export function projectPicker(projects, chosen, onChange, id = "project") {
  const options = projects.map((p) => [p.id, p.name]);
  const picker = select(options, chosen, { id, on: { change: () => onChange(picker.value) } });
  return field("Project", picker);
}

/** The message for a user without projects. */
export function noProjects() {
  return h("p", { class: "muted" }, "No projects yet: register one with POST /v1/projects or `spark projects create`.");
}
