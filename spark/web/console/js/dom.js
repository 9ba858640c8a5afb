// Every element of the console is built here, with the DOM API: strings are always text
// nodes, never markup, so a user's file, log line or error message cannot become HTML.

const PROPERTIES = new Set(["value", "checked", "disabled", "selected", "hidden", "open"]);

/**
 * h("a", {class: "x", href: "/console/jobs/1", on: {click: fn}}, "text", child, [more])
 * Attributes are set with setAttribute; `on` adds listeners; `dataset` sets data-*.
 * Children: strings and numbers become text nodes, null/false are skipped, arrays flatten.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "on") {
      for (const [event, fn] of Object.entries(value)) el.addEventListener(event, fn);
    } else if (name === "dataset") {
      Object.assign(el.dataset, value);
    } else if (PROPERTIES.has(name)) {
      el[name] = value;
    } else if (name.startsWith("on")) {
      throw new Error(`inline handler ${name} refused: use on: {…}`);
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

/** Append children (text, nodes, arrays of them) to el. */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace everything inside el with children. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}
