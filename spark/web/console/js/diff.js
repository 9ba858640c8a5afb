// A line diff between two texts (Myers' O(ND) algorithm), shown unified-style: hunks of
// changed lines with three lines of context, added and deleted lines classed add / del.

import { h } from "./dom.js";

const CONTEXT = 3;
// beyond this many differing lines the search costs too much: the diff shows the
// changed middle as deleted and added whole (still correct, only less minimal)
const MAX_EDITS = 4000;

/** The edit script from lines a to lines b: [{op: "eq" | "del" | "add", text}]. */
export function diffLines(a, b) {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) endA--, endB--;
  const eq = (text) => ({ op: "eq", text });
  const middle = myers(a.slice(start, endA), b.slice(start, endB));
  return [...a.slice(0, start).map(eq), ...middle, ...a.slice(endA).map(eq)];
}

function myers(a, b) {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0 || n + m > 2 * MAX_EDITS * 50) return wholesale(a, b);
  const max = Math.min(n + m, MAX_EDITS);
  const off = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace = [];
  for (let d = 0; d <= max; d++) {
    // round d reads only diagonals -d-1 … d+1 of the round before: keep just those
    trace.push(v.slice(off - d - 1, off + d + 2));
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[off + k - 1] < v[off + k + 1]) ? v[off + k + 1] : v[off + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) x++, y++;
      v[off + k] = x;
      if (x >= n && y >= m) return backtrack(trace, a, b);
    }
  }
  return wholesale(a, b);
}

function backtrack(trace, a, b) {
  const ops = [];
  let x = a.length;
  let y = b.length;
  for (let d = trace.length - 1; d >= 0; d--) {
    const row = trace[d];
    const at = (k) => row[k + d + 1];
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) ops.push({ op: "eq", text: a[--x] }), y--;
    if (d > 0) {
      if (x === prevX) ops.push({ op: "add", text: b[--y] });
      else ops.push({ op: "del", text: a[--x] });
    }
    x = prevX;
    y = prevY;
  }
  return ops.reverse();
}

function wholesale(a, b) {
  return [...a.map((text) => ({ op: "del", text })), ...b.map((text) => ({ op: "add", text }))];
}

/** The edit script cut into hunks: [{aStart, aLen, bStart, bLen, ops}] (1-based starts). */
export function hunks(ops, context = CONTEXT) {
  const found = [];
  let aLine = 1;
  let bLine = 1;
  let current = null;
  let trailing = 0; // unchanged lines since the current hunk's last change
  ops.forEach((entry, i) => {
    if (entry.op !== "eq") {
      if (!current) {
        const lead = [];
        for (let j = i - 1; j >= 0 && lead.length < context && ops[j].op === "eq"; j--) lead.unshift(ops[j]);
        current = { aStart: aLine - lead.length, bStart: bLine - lead.length, ops: lead };
        found.push(current);
      }
      current.ops.push(entry);
      trailing = 0;
    } else if (current) {
      if (trailing < context) current.ops.push(entry);
      trailing++;
      // a gap wider than twice the context starts a new hunk at the next change
      if (trailing > 2 * context) current = null;
    }
    if (entry.op !== "add") aLine++;
    if (entry.op !== "del") bLine++;
  });
  for (const hunk of found) {
    hunk.aLen = hunk.ops.filter((o) => o.op !== "add").length;
    hunk.bLen = hunk.ops.filter((o) => o.op !== "del").length;
  }
  return found;
}

const SIGN = { eq: " ", del: "-", add: "+" };

/** A unified view of the change from text a to text b, as a <pre class="diff">. */
export function diffView(a, b, label) {
  // a final newline ends the last line rather than starting an empty one
  const lines = (text) => text.replace(/\n$/, "").split("\n");
  const found = hunks(diffLines(lines(a), lines(b)));
  const pre = h("pre", { class: "diff", "aria-label": label ?? "diff", tabindex: "0" });
  if (!found.length) {
    const same = a === b ? "The two versions are identical." : "The two versions differ only in the newline at the end.";
    return h("p", { class: "muted diff-same" }, same);
  }
  for (const hunk of found) {
    pre.append(h("span", { class: "hunk" }, `@@ -${hunk.aStart},${hunk.aLen} +${hunk.bStart},${hunk.bLen} @@`, "\n"));
    for (const { op, text } of hunk.ops) pre.append(h("span", { class: op }, SIGN[op], text, "\n"));
  }
  return pre;
}

/** A unified diff the API wrote (an apply_patch result's diff), classed line by line. */
export function unifiedView(text, label) {
  const lines = text.replace(/\n$/, "").split("\n");
  const cls = (line) =>
    line.startsWith("+++") || line.startsWith("---")
      ? "file"
      : line.startsWith("@@")
        ? "hunk"
        : line.startsWith("+")
          ? "add"
          : line.startsWith("-")
            ? "del"
            : "eq";
  return h(
    "pre",
    { class: "diff", "aria-label": label ?? "diff", tabindex: "0" },
    lines.map((line) => h("span", { class: cls(line) }, line, "\n")),
  );
}
