// The console's shell: sign-in, the navigation, and the current panel.

import { UNAUTHORIZED, getJson } from "./api.js";
import { credential, forget, remember } from "./auth.js";
import { h, replace } from "./dom.js";
import { Feed } from "./feed.js";
import { NAV, load, parse } from "./router.js";
import { errorBox } from "./ui.js";

const app = document.getElementById("app");
let session = null; // {me, feed, main, cleanup}

function signInScreen(message) {
  const input = h("input", { id: "credential", type: "password", autocomplete: "off", required: true, spellcheck: "false" });
  const form = h(
    "form",
    { class: "signin", on: { submit: (e) => (e.preventDefault(), signIn(input.value.trim())) } },
    h("h1", {}, "SPARK"),
    h("label", { for: "credential" }, "API key or token"),
    input,
    h("button", { type: "submit" }, "Sign in"),
    message ? h("p", { class: "error", role: "alert" }, message) : null,
    h("p", { class: "hint" }, "Kept in this tab only, until you sign out or close it."),
  );
  replace(app, form);
  document.title = "Sign in · SPARK";
  input.focus();
}

async function signIn(token) {
  if (!token) return;
  remember(token);
  await start();
}

function signOut(message) {
  session?.cleanup?.();
  session?.feed.stop();
  session = null;
  forget();
  signInScreen(message);
}

async function start() {
  let me;
  try {
    me = await getJson("/v1/usage");
  } catch (error) {
    signOut(error.message);
    return;
  }
  const main = h("main", { id: "panel", tabindex: "-1" });
  const nav = h(
    "nav",
    { "aria-label": "Console" },
    NAV.map(([panel, title]) => h("a", { href: `/console/${panel}`, dataset: { panel } }, title)),
  );
  const header = h(
    "header",
    {},
    h("a", { class: "brand", href: "/console/activity" }, "SPARK"),
    nav,
    h("span", { class: "who" }, `${me.user} · ${me.tier}`),
    h("button", { type: "button", class: "signout", on: { click: () => signOut() } }, "Sign out"),
  );
  replace(app, header, main);
  const feed = new Feed();
  session = { me, feed, main, cleanup: null };
  feed.start();
  await show(location.href);
}

async function show(url) {
  if (!session) return;
  const route = parse(url);
  session.cleanup?.();
  session.cleanup = null;
  for (const link of document.querySelectorAll("nav a")) {
    link.toggleAttribute("aria-current", link.dataset.panel === route.panel);
  }
  const { main } = session;
  replace(main);
  try {
    const panel = await load(route.panel);
    document.title = `${panel.title} · SPARK`;
    const ctx = { me: session.me, feed: session.feed, navigate, main };
    session.cleanup = (await panel.render(ctx, route)) ?? null;
  } catch (error) {
    if (session) replace(main, errorBox(error));
  }
  main.focus({ preventScroll: true });
}

/** Go to a console URL without reloading the page. */
export function navigate(url, { replaceState = false } = {}) {
  if (replaceState) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  show(url);
}

document.addEventListener("click", (event) => {
  const link = event.target.closest?.("a[href^='/console']");
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  event.preventDefault();
  navigate(link.getAttribute("href"));
});
window.addEventListener("popstate", () => show(location.href));
window.addEventListener(UNAUTHORIZED, (event) => signOut(event.detail.message));

if (credential()) start();
else signInScreen();
