// Usage: the caller's tier and limits, what was used today and this month, when each limit
// starts over, and tokens per UTC day over the last 30 days from the hourly rollups.

import { getJson } from "../api.js";
import { h, replace } from "../dom.js";
import { when } from "../ui.js";

const DAYS = 30;
const SVG = "http://www.w3.org/2000/svg";
const CHART = { width: 1000, height: 220, top: 16, bottom: 24, left: 8, right: 8 };
const ENDINGS = new Set(["completed", "failed", "canceled", "timeout"]);
// a job's tokens are charged when it ends; a burst of endings is read once
const SETTLE_MS = 1000;

/** Each limit: its label and when it starts over ("day", "month" or a sentence). */
const LIMITS = {
  requests_per_day: ["Requests per day", "day"],
  tokens_per_month: ["LLM tokens per month", "month"],
  concurrent_builds: ["Concurrent builds", "when a build ends"],
  submissions_per_minute: ["Job submissions per minute", "sliding minute"],
  writes_per_minute: ["Other writes per minute", "sliding minute"],
  reads_per_minute: ["Reads per minute", "sliding minute"],
};

export default {
  title: "Usage",
  async render(ctx) {
    const controller = new AbortController();
    const { signal } = controller;
    let timer = null;
    const show = async () => {
      const usage = await getJson("/v1/usage", { history_days: DAYS }, signal);
      replace(ctx.main, ...usagePage(usage));
    };
    await show();
    const later = () => {
      clearTimeout(timer);
      timer = setTimeout(() => show().catch(() => {}), SETTLE_MS);
    };
    const unsubscribe = ctx.feed.subscribe((event) => ENDINGS.has(event.type) && later(), later);
    return () => {
      clearTimeout(timer);
      unsubscribe();
      controller.abort();
    };
  },
};

function usagePage(usage) {
  const { limits, resets } = usage;
  return [
    h("h1", {}, "Usage"),
    h(
      "div",
      { class: "cards usage-stats" },
      stat("Tier", h("span", { class: "tier", dataset: { tier: usage.tier } }, usage.tier), usage.user),
      stat(
        `Today (${usage.day.date} UTC)`,
        meter("requests today", usage.day.requests, limits.requests_per_day, "requests"),
        resetNote(resets.day),
      ),
      stat(
        `This month (${usage.month.period})`,
        meter("tokens this month", usage.month.tokens, limits.tokens_per_month, "tokens"),
        h("span", {}, h("span", { class: "month-jobs" }, String(usage.month.jobs)), usage.month.jobs === 1 ? " job charged · " : " jobs charged · ", resetNote(resets.month)),
      ),
      stat("Builds now", meter("active builds", usage.builds.active, limits.concurrent_builds, "running or queued"), null),
    ),
    h("section", { "aria-labelledby": "tokens-per-day" }, h("h2", { id: "tokens-per-day" }, `Tokens per day, last ${DAYS} days (UTC)`), tokenChart(usage)),
    h("section", { "aria-labelledby": "limits" }, h("h2", { id: "limits" }, "Limits"), limitsTable(limits, resets)),
  ];
}

function stat(title, value, note) {
  return h("article", { class: "card stat" }, h("h2", {}, title), h("div", { class: "value" }, value), note ? h("small", {}, note) : null);
}

/** "used of limit unit" with a <meter> beside it. */
function meter(label, used, limit, unit) {
  const bar = h("meter", { min: "0", max: String(Math.max(limit, 1)), "aria-label": label, low: String(limit * 0.7), high: String(limit * 0.9), optimum: "0" });
  bar.value = used;
  return h("span", { class: "meter" }, h("strong", { dataset: { used: String(used) } }, used.toLocaleString()), ` of ${limit.toLocaleString()} ${unit}`, bar);
}

function resetNote(iso) {
  return h("span", { class: "reset" }, "resets ", when(iso), ` (${fromNow(iso)})`);
}

/** "in 5 h 12 min" from now to iso. */
function fromNow(iso) {
  const minutes = Math.max(0, Math.round((new Date(iso) - Date.now()) / 60_000));
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  if (days) return `in ${days} d ${hours} h`;
  return hours ? `in ${hours} h ${minutes % 60} min` : `in ${minutes} min`;
}

function limitsTable(limits, resets) {
  const resetOf = (when_) => (when_ === "day" ? resets.day : when_ === "month" ? resets.month : null);
  const rows = Object.entries(limits).map(([name, value]) => {
    const [label, starts] = LIMITS[name] ?? [name.replaceAll("_", " "), ""];
    const at = resetOf(starts);
    return h("tr", {}, h("th", { scope: "row" }, label), h("td", {}, value.toLocaleString()), h("td", {}, at ? when(at) : starts));
  });
  return h(
    "table",
    { "aria-label": "Limits" },
    h("thead", {}, h("tr", {}, h("th", {}, "Limit"), h("th", {}, "Allowed"), h("th", {}, "Starts over"))),
    h("tbody", {}, rows),
  );
}

/** [{date: "YYYY-MM-DD", tokens, jobs}] for the DAYS UTC days ending today, oldest first. */
function tokensPerDay(history, today) {
  const end = Date.parse(`${today}T00:00:00Z`);
  const days = Array.from({ length: DAYS }, (_, i) => new Date(end - (DAYS - 1 - i) * 86_400_000).toISOString().slice(0, 10));
  const totals = new Map(days.map((d) => [d, { date: d, tokens: 0, jobs: 0 }]));
  for (const row of history ?? []) {
    const day = totals.get(new Date(row.hour).toISOString().slice(0, 10));
    if (!day) continue;
    day.tokens += row.tokens_in + row.tokens_out;
    day.jobs += row.jobs;
  }
  return [...totals.values()];
}

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  for (const child of children) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}

/** A bar per day (SVG), with the same numbers as a table for screen readers and copying. */
function tokenChart(usage) {
  const days = tokensPerDay(usage.history, usage.day.date);
  const total = days.reduce((sum, d) => sum + d.tokens, 0);
  return [
    chartSvg(days, usage.day.date, total),
    h("p", { class: "muted" }, "From the hourly rollups: an hour shows once it is rolled up, so the last hour may not be counted yet; this month's total above is exact."),
    h("details", {}, h("summary", {}, "As a table"), total ? tokenTable(days) : h("p", { class: "muted" }, "No tokens used in these days.")),
  ];
}

/** The chart's geometry: each day's slot width and the bars' full height, in viewBox units. */
function chartFrame() {
  const { width, height, top, bottom, left, right } = CHART;
  return { slot: (width - left - right) / DAYS, plot: height - top - bottom };
}

function chartSvg(days, today, total) {
  const max = Math.max(1, ...days.map((d) => d.tokens));
  const { width, height, top, left, right } = CHART;
  const { plot } = chartFrame();
  return svg(
    "svg",
    { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `Tokens per day over the last ${DAYS} days: ${total.toLocaleString()} in all, at most ${max.toLocaleString()} in one day` },
    svg("line", { x1: left, x2: width - right, y1: top + plot, y2: top + plot, class: "baseline" }),
    svg("text", { x: left, y: top - 4, class: "axis" }, `${max.toLocaleString()} tokens`),
    ...days.map((d, i) => dayBar(d, i, max, d.date === today)),
    ...axisLabels(days),
  );
}

function dayBar(d, i, max, today) {
  const { top, left } = CHART;
  const { slot, plot } = chartFrame();
  // a day with any tokens stays visible however small next to the busiest day
  const barHeight = d.tokens ? Math.max(1, (d.tokens / max) * plot) : 0;
  const x = left + i * slot + slot * 0.15;
  return svg(
    "rect",
    { class: today ? "bar today" : "bar", x, y: top + plot - barHeight, width: slot * 0.7, height: barHeight, "data-date": d.date, "data-tokens": d.tokens },
    svg("title", {}, `${d.date}: ${d.tokens.toLocaleString()} tokens, ${d.jobs} jobs`),
  );
}

/** A date under every fifth day and today, so the axis stays readable. */
function axisLabels(days) {
  const { height, left } = CHART;
  const { slot } = chartFrame();
  return days
    .map((d, i) => [d, i])
    .filter(([, i]) => i % 5 === 0 || i === DAYS - 1)
    .map(([d, i]) => svg("text", { x: left + i * slot + slot / 2, y: height - 6, class: "axis", "text-anchor": "middle" }, d.date.slice(5)));
}

/** The days with any use, newest first. */
function tokenTable(days) {
  const rows = [...days].reverse().filter((d) => d.tokens || d.jobs);
  return h(
    "table",
    { "aria-label": "Tokens per day" },
    h("thead", {}, h("tr", {}, h("th", {}, "Day (UTC)"), h("th", {}, "Tokens"), h("th", {}, "Jobs"))),
    h("tbody", {}, rows.map((d) => h("tr", {}, h("td", {}, d.date), h("td", {}, d.tokens.toLocaleString()), h("td", {}, String(d.jobs))))),
  );
}
