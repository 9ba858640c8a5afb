// The public HTTP API, called with the signed-in credential in the Authorization header.
// A 401 anywhere signs the console out, showing the API's message on the sign-in screen.

import { credential } from "./auth.js";
import { ApiError } from "./errors.js";

export const UNAUTHORIZED = "spark:unauthorized";

function query(params) {
  const pairs = Object.entries(params ?? {}).filter(([, v]) => v !== undefined && v !== null && v !== "");
  return pairs.length ? "?" + new URLSearchParams(pairs).toString() : "";
}

/** The path of a project file's route: each segment encoded, its slashes kept. */
export function filePath(projectId, path, suffix = "") {
  const encoded = path.split("/").map(encodeURIComponent).join("/");
  return `/v1/projects/${encodeURIComponent(projectId)}/files/${encoded}${suffix}`;
}

/** fetch() on the API with the credential; the Response when ok, else an ApiError thrown. */
export async function request(path, { method = "GET", body, headers = {}, params, signal } = {}) {
  const init = { method, headers: { ...headers }, signal, credentials: "omit", referrerPolicy: "no-referrer" };
  const token = credential();
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path + query(params), init);
  if (response.ok) return response;
  const error = await ApiError.from(response);
  if (response.status === 401) {
    window.dispatchEvent(new CustomEvent(UNAUTHORIZED, { detail: error }));
  }
  throw error;
}

export async function getJson(path, params, signal) {
  return (await request(path, { params, signal })).json();
}

export async function postJson(path, body, headers = {}) {
  return (await request(path, { method: "POST", body, headers })).json();
}

export async function getText(path, params, signal) {
  return (await request(path, { params, signal })).text();
}

/** An artifact or frame as a blob: URL (an <img> or <a> cannot send the credential). */
export async function blobUrl(href, signal) {
  const blob = await (await request(href, { signal })).blob();
  return URL.createObjectURL(blob);
}

/** Submit a job; returns the job object (202). */
export function submit(kind, params, extra = {}) {
  return postJson("/v1/jobs", { kind, params, ...extra });
}
