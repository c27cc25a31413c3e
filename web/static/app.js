// Attune web UI: search and segment browser over the JSON API
// (/openapi.json). Plain JavaScript, no dependencies; every value from the
// API is inserted as text, except search snippets, whose only markup is the
// index's <mark> highlighting (checked before use).
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);
const PAGE = 20;
const FACETS = ["segment", "aspect", "source", "label", "sentiment", "language"];
const FILTER_OF_FACET = { segment: "segment", aspect: "aspect", source: "source", label: "label", language: "language" };
const FILTERS = ["segment", "aspect", "source", "label", "language", "customer", "sentiment_min", "sentiment_max", "from", "to"];

// ---------- helpers ----------

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs = {}, ...children) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children.flat()) if (c) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function token() { return sessionStorage.getItem("attune.token") || ""; }

async function api(path, opts = {}) {
  const headers = Object.assign({ Accept: "application/json" }, opts.headers || {});
  if (token()) headers.Authorization = "Bearer " + token();
  const res = await fetch(path, Object.assign({}, opts, { headers }));
  const type = res.headers.get("Content-Type") || "";
  const body = type.includes("json") ? await res.json() : await res.text();
  if (!res.ok) {
    const msg = (body && body.error) || res.statusText;
    const err = new Error(msg);
    err.status = res.status;
    throw err;
  }
  return body;
}

function toast(msg, isError) {
  const t = $("#toast");
  t.textContent = msg;
  t.className = "toast" + (isError ? " error" : "");
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 4000);
}

const fmt = {
  num: (n) => Number(n).toLocaleString("en-US"),
  sent: (s) => (s > 0 ? "+" : "") + Number(s).toFixed(2),
  pct: (x) => Math.round(100 * x) + "%",
  date: (t) => t ? new Date(t).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" }) + " UTC" : "",
  day: (t) => new Date(t).toLocaleDateString("en-GB", { day: "numeric", month: "short", timeZone: "UTC" }),
};

function labelOf(score) { return score <= -0.05 ? "negative" : score >= 0.05 ? "positive" : "neutral"; }

function sentimentChip(label, score) {
  return el("span", { class: "chip " + (label || labelOf(score)), title: "Sentiment score " + fmt.sent(score) }, (label || labelOf(score)) + " " + fmt.sent(score));
}

// snippetNode renders the index's highlighted snippet. The index escapes the
// text and adds only <mark> and </mark>; anything else falls back to text.
function snippetNode(snippet, text) {
  const div = el("div", { class: "text" });
  if (snippet && !/</.test(snippet.replace(/<\/?mark>/g, ""))) {
    div.innerHTML = snippet;
  } else {
    div.textContent = text;
  }
  return div;
}

// ---------- routing ----------

function route() {
  const hash = location.hash.slice(1) || "search";
  const [path, query] = hash.split("?");
  const params = new URLSearchParams(query || "");
  for (const v of document.querySelectorAll(".view")) v.hidden = true;
  for (const t of document.querySelectorAll(".tab")) t.classList.remove("active");
  if (path.startsWith("segment/")) {
    $("#tab-segments").classList.add("active");
    showSegment(decodeURIComponent(path.slice(8)));
  } else if (path === "segments") {
    $("#tab-segments").classList.add("active");
    showSegments();
  } else if (path.startsWith("customer/")) {
    showCustomer(decodeURIComponent(path.slice(9)));
  } else {
    $("#tab-search").classList.add("active");
    showSearch(params);
  }
}

function go(hash) {
  if (location.hash === "#" + hash) route();
  else location.hash = hash;
}

function searchHash(state) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(state)) if (v !== "" && v !== undefined && v !== null && !(k === "offset" && +v === 0)) p.set(k, v);
  const s = p.toString();
  return "search" + (s ? "?" + s : "");
}

// ---------- search ----------

let searchState = {};

async function showSearch(params) {
  $("#view-search").hidden = false;
  searchState = Object.fromEntries(params.entries());
  $("#results").setAttribute("aria-busy", "true");
  $("#q").value = searchState.q || "";
  $("#sort").value = searchState.sort ? searchState.sort + (searchState.order ? "|" + searchState.order : "") : "";
  if ($("#sort").value === "" && searchState.sort) $("#sort").value = "";
  renderActiveFilters();

  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(searchState)) if (v !== "") q.set(k, v);
  q.set("limit", PAGE);
  q.set("facets", FACETS.join(","));
  $("#search-meta").textContent = "Searching…";
  let res;
  try {
    res = await api("/api/search?" + q);
  } catch (e) {
    $("#search-meta").textContent = "";
    $("#results").replaceChildren(el("li", { class: "empty" }, e.message));
    $("#facets").replaceChildren();
    $("#pager").replaceChildren();
    $("#results").setAttribute("aria-busy", "false");
    return;
  }
  const from = res.total ? res.offset + 1 : 0;
  const to = res.offset + res.hits.length;
  $("#search-meta").textContent = res.total
    ? `${fmt.num(from)}–${fmt.num(to)} of ${fmt.num(res.total)} texts · ${res.took_ms.toFixed(1)} ms`
    : "No texts match.";
  $("#results").replaceChildren(...res.hits.map(hitNode));
  if (!res.hits.length) $("#results").append(el("li", { class: "empty" }, searchState.q ? "Nothing matches; try fewer words or remove a filter." : "No texts indexed yet."));
  renderFacets(res.facets || {});
  renderPager(res);
  $("#results").setAttribute("aria-busy", "false");
}

function hitNode(h) {
  const chips = el("div", { class: "chips" },
    sentimentChip(h.label, h.sentiment),
    h.segment_name && el("span", { class: "chip segment clickable", title: "Open segment", onclick: () => go("segment/" + encodeURIComponent(h.segment_id)) }, "◆ " + h.segment_name),
    (h.aspects || []).map((a) => el("span", { class: "chip aspect clickable", title: "Filter by aspect", onclick: () => setFilter("aspect", a) }, a.replaceAll("_", " "))),
    h.source && el("span", { class: "chip clickable", title: "Filter by source", onclick: () => setFilter("source", h.source) }, h.source),
    h.customer_id && el("a", { class: "chip customer clickable", href: "#customer/" + encodeURIComponent(h.customer_id), title: "Customer view" }, h.customer_id),
    h.ts && el("span", { class: "chip when" }, fmt.date(h.ts)),
  );
  return el("li", { class: "hit", "data-id": h.id }, snippetNode(h.snippet, h.text), chips);
}

function renderFacets(facets) {
  const box = $("#facets");
  box.replaceChildren();
  const titles = { segment: "Segments", aspect: "Aspects", source: "Sources", label: "Sentiment label", sentiment: "Sentiment", language: "Language" };
  for (const name of FACETS) {
    const f = facets[name];
    if (!f || !f.buckets || !f.buckets.some((b) => b.count > 0)) continue;
    const ul = el("ul");
    for (const b of f.buckets) {
      if (!b.count) continue;
      let on = false, click;
      if (name === "sentiment") {
        on = searchState.sentiment_min == b.min && searchState.sentiment_max == b.max;
        click = () => on ? setFilters({ sentiment_min: "", sentiment_max: "" }) : setFilters({ sentiment_min: b.min, sentiment_max: b.max });
      } else {
        const key = FILTER_OF_FACET[name];
        on = searchState[key] === b.value;
        click = () => setFilter(key, on ? "" : b.value);
      }
      ul.append(el("li", { class: on ? "on" : "", onclick: click, title: b.value },
        el("span", { class: "v" }, (b.label || b.value).replaceAll("_", " ")), el("span", { class: "n" }, fmt.num(b.count))));
    }
    box.append(el("div", { class: "facet", "data-facet": name }, el("h4", {}, titles[name]), ul));
  }
}

function renderActiveFilters() {
  const box = $("#active-filters");
  box.replaceChildren();
  for (const k of FILTERS) {
    if (!searchState[k]) continue;
    if (k === "sentiment_max") continue;
    const label = k === "sentiment_min" ? `sentiment ${searchState.sentiment_min} … ${searchState.sentiment_max ?? 1}` : `${k}: ${searchState[k]}`;
    const clear = k === "sentiment_min" ? { sentiment_min: "", sentiment_max: "" } : { [k]: "" };
    box.append(el("span", { class: "filter" }, label, el("button", { type: "button", title: "Remove filter", onclick: () => setFilters(clear) }, "×")));
  }
}

function renderPager(res) {
  const pager = $("#pager");
  pager.replaceChildren();
  if (res.total <= PAGE) return;
  const off = res.offset;
  const maxOff = Math.min(res.total, 10000) - 1;
  pager.append(
    el("button", { type: "button", disabled: off === 0, onclick: () => setFilters({ offset: Math.max(0, off - PAGE) }, true) }, "← Previous"),
    el("span", { class: "muted" }, `Page ${Math.floor(off / PAGE) + 1} of ${Math.ceil(Math.min(res.total, 10000) / PAGE)}`),
    el("button", { type: "button", id: "next-page", disabled: off + PAGE > maxOff, onclick: () => setFilters({ offset: off + PAGE }, true) }, "Next →"),
  );
}

function setFilter(key, value) { setFilters({ [key]: value }); }

function setFilters(changes, keepOffset) {
  const s = Object.assign({}, searchState, changes);
  if (!keepOffset) delete s.offset;
  for (const k of Object.keys(s)) if (s[k] === "") delete s[k];
  go(searchHash(s));
}

// ---------- segments ----------

async function showSegments() {
  $("#view-segments").hidden = false;
  $("#segments-meta").textContent = "Loading segments…";
  let res;
  try {
    res = await api("/api/segments");
  } catch (e) {
    $("#segments-meta").textContent = e.message;
    return;
  }
  if (!res.segments.length) {
    $("#segments-meta").textContent = `${fmt.num(res.events)} texts stored; segments are fitted once enough have arrived (cluster.min_events).`;
    $("#cards").replaceChildren();
    return;
  }
  $("#segments-meta").textContent = `${res.segments.length} segments over ${fmt.num(res.events)} texts · fitted ${fmt.date(res.fitted_at)}`;
  $("#cards").replaceChildren(...res.segments.map(cardNode));
}

function sentClass(s) { return s <= -0.05 ? "neg" : s >= 0.05 ? "pos" : ""; }

function cardNode(s) {
  const open = () => go("segment/" + encodeURIComponent(s.id));
  return el("article", { class: "card", "data-segment": s.id, onclick: open, tabindex: 0, onkeydown: (e) => { if (e.key === "Enter") open(); } },
    el("h3", {}, el("span", { class: "name" }, s.name), el("span", { class: "id" }, s.id)),
    el("div", { class: "stats" },
      el("div", {}, el("b", {}, fmt.num(s.size)), "texts"),
      el("div", {}, el("b", {}, fmt.num(s.members)), "customers"),
      el("div", {}, el("b", { class: sentClass(s.mean_sentiment) }, fmt.sent(s.mean_sentiment)), "sentiment"),
      el("div", {}, el("b", {}, fmt.pct(s.share)), "share")),
    (s.aspects || []).some((a) => a.lift >= 1.2) ? el("div", { class: "chips" }, s.aspects.filter((a) => a.lift >= 1.2).slice(0, 4).map(aspectChip)) : null,
    el("div", { class: "terms" }, (s.top_terms || []).join(" · ")),
    trendChart(s.trend, 320, 70, s.interval),
    (s.exemplars || []).slice(0, 1).map((x) => el("p", { class: "exemplar" }, "“" + x + "”")),
  );
}

function aspectChip(a) {
  return el("span", { class: "chip aspect", title: `${fmt.pct(a.share)} of texts, ${a.lift.toFixed(1)}× the average, sentiment ${fmt.sent(a.mean_sentiment)}` },
    a.aspect.replaceAll("_", " "), el("span", { class: "lift" }, a.lift.toFixed(1) + "×"));
}

// trendChart draws volume as bars and mean sentiment as a line (−1..1).
function trendChart(trend, w, h, interval) {
  const root = svg("svg", { class: "chart", viewBox: `0 0 ${w} ${h + 14}`, role: "img", "aria-label": "Volume and sentiment over time" });
  if (!trend || !trend.length) {
    root.append(svg("text", { x: 4, y: h / 2, class: "axis" }, "no dated texts"));
    return root;
  }
  const maxN = Math.max(1, ...trend.map((b) => b.events));
  const bw = w / trend.length;
  const y0 = h / 2;
  root.append(svg("line", { x1: 0, x2: w, y1: y0, y2: y0, stroke: "#e4e7ec", "stroke-dasharray": "3 3" }));
  trend.forEach((b, i) => {
    const bh = (b.events / maxN) * (h - 4);
    root.append(svg("rect", { x: i * bw + 1, y: h - bh, width: Math.max(1, bw - 2), height: bh, fill: "#bac8ff", rx: 1 },
      svg("title", {}, `${fmt.day(b.start)}: ${b.events} texts, sentiment ${fmt.sent(b.mean_sentiment)}`)));
  });
  const pts = trend.map((b, i) => b.events ? `${(i + 0.5) * bw},${y0 - b.mean_sentiment * (h / 2 - 3)}` : null).filter(Boolean);
  if (pts.length > 1) root.append(svg("polyline", { points: pts.join(" "), fill: "none", stroke: "#e8590c", "stroke-width": 1.8, "stroke-linejoin": "round" }));
  for (const p of pts) { const [x, y] = p.split(","); root.append(svg("circle", { cx: x, cy: y, r: 1.8, fill: "#e8590c" })); }
  root.append(svg("text", { x: 0, y: h + 12, class: "axis" }, fmt.day(trend[0].start)));
  root.append(svg("text", { x: w, y: h + 12, class: "axis", "text-anchor": "end" }, fmt.day(trend[trend.length - 1].start) + (interval ? ` · per ${interval}` : "")));
  return root;
}

let memberOffset = 0;

async function showSegment(id) {
  $("#view-segment").hidden = false;
  const box = $("#segment-detail");
  box.replaceChildren(el("p", { class: "muted" }, "Loading…"));
  let s;
  try {
    s = await api("/api/segments/" + encodeURIComponent(id));
  } catch (e) {
    box.replaceChildren(el("p", { class: "empty" }, e.message));
    return;
  }
  memberOffset = 0;
  const members = el("div", { id: "members" });
  const renameInput = el("input", { id: "rename-input", value: s.name, maxlength: 64, "aria-label": "New name" });
  const base = "/api/segments/" + encodeURIComponent(s.id) + "/members?format=";
  box.replaceChildren(el("div", { class: "detail" },
    el("div", { class: "panel" },
      el("h2", { id: "segment-name" }, s.name),
      el("div", { class: "muted" }, `${s.id}${s.user_named ? " · named by a user" : ""}${s.lineage ? " · " + lineageText(s.lineage) : ""}`),
      el("div", { class: "stats", style: null },
        el("div", {}, el("b", {}, fmt.num(s.size)), "texts"),
        el("div", {}, el("b", {}, fmt.num(s.members)), "customers"),
        el("div", {}, el("b", { class: sentClass(s.mean_sentiment) }, fmt.sent(s.mean_sentiment)), "mean sentiment"),
        el("div", {}, el("b", {}, fmt.pct(s.share)), "of all texts")),
      el("h4", {}, "Volume and sentiment over time"),
      trendChart(s.trend, 640, 140, s.interval),
      el("div", { class: "legend" }, el("span", {}, el("i", { class: "vol" }), "texts per " + (s.interval || "window")), el("span", {}, el("i", { class: "sent" }), "mean sentiment (−1 … +1)")),
      el("h4", {}, "What sets it apart"),
      el("ul", { class: "explain" }, (s.explanation || []).map((x) => el("li", {}, x))),
      el("h4", {}, "Exemplars"),
      (s.exemplars || []).map((x) => el("p", { class: "exemplar" }, "“" + x + "”")),
      el("h4", {}, "Members"),
      members,
    ),
    el("div", {},
      el("div", { class: "panel" },
        el("h4", {}, "Act on it"),
        el("div", { class: "actions" },
          el("button", { type: "button", class: "primary", onclick: () => go(searchHash({ segment: s.id })) }, "Search its texts"),
          el("button", { type: "button", id: "export-csv", onclick: () => download(base + "csv") }, "Export CSV"),
          el("button", { type: "button", id: "export-jsonl", onclick: () => download(base + "jsonl") }, "Export JSONL")),
        el("h4", {}, "Rename"),
        el("form", { class: "rename", onsubmit: (e) => { e.preventDefault(); rename(s.id, renameInput.value); } }, renameInput, el("button", { type: "submit" }, "Save"))),
      el("div", { class: "panel" },
        el("h4", {}, "Aspects (lift vs all texts)"),
        (s.aspects || []).length ? el("div", { class: "chips" }, s.aspects.map(aspectChip)) : el("p", { class: "muted" }, "No aspects found in its texts."),
        el("h4", {}, "Top terms"),
        el("div", { class: "chips" }, (s.top_terms || []).map((t) => el("span", { class: "chip clickable", onclick: () => go(searchHash({ q: t, segment: s.id })) }, t))),
        (s.behavior || []).length ? [el("h4", {}, "Behavior"), behaviorTable(s.behavior)] : null),
    )));
  loadMembers(s.id, members);
}

function num3(x) { return Math.abs(x) < 1e-6 ? "0" : Number(x.toPrecision(3)).toString(); }

function lineageText(l) {
  if (!l || !l.kind) return "";
  return l.kind + (l.from && l.from.length ? " from " + l.from.join(", ") : "");
}

function behaviorTable(bs) {
  return el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "Feature"), el("th", {}, "Segment"), el("th", {}, "All"), el("th", {}, "z"))),
    el("tbody", {}, bs.map((b) => el("tr", {}, el("td", {}, b.name), el("td", { class: "num" }, num3(b.mean)), el("td", { class: "num" }, num3(b.population_mean)), el("td", { class: "num" }, b.z.toFixed(2))))));
}

async function loadMembers(id, box) {
  let res;
  try {
    res = await api(`/api/segments/${encodeURIComponent(id)}/members?format=json&limit=${PAGE}&offset=${memberOffset}`);
  } catch (e) {
    box.replaceChildren(el("p", { class: "muted" }, e.message));
    return;
  }
  const rows = res.members.map((m) => el("tr", {},
    el("td", {}, el("a", { href: "#customer/" + encodeURIComponent(m.customer_id) }, m.customer_id)),
    el("td", { class: "num" }, m.events_in_segment + " / " + m.events),
    el("td", { class: "num" }, fmt.sent(m.mean_sentiment)),
    el("td", {}, m.last ? fmt.date(m.last) : "")));
  box.replaceChildren(
    el("table", { id: "members-table" }, el("thead", {}, el("tr", {}, el("th", {}, "Customer"), el("th", {}, "Texts here / all"), el("th", {}, "Sentiment"), el("th", {}, "Last seen"))), el("tbody", {}, rows)),
    el("div", { class: "pager" },
      el("button", { type: "button", disabled: memberOffset === 0, onclick: () => { memberOffset = Math.max(0, memberOffset - PAGE); loadMembers(id, box); } }, "←"),
      el("span", { class: "muted" }, `${fmt.num(res.total ? memberOffset + 1 : 0)}–${fmt.num(memberOffset + res.members.length)} of ${fmt.num(res.total)} customers`),
      el("button", { type: "button", disabled: memberOffset + PAGE >= res.total, onclick: () => { memberOffset += PAGE; loadMembers(id, box); } }, "→")));
}

// download fetches with the token (if any) and saves the streamed file.
async function download(url) {
  try {
    const headers = token() ? { Authorization: "Bearer " + token() } : {};
    const res = await fetch(url, { headers });
    if (!res.ok) throw new Error((await res.json()).error || res.statusText);
    const name = (res.headers.get("Content-Disposition") || "").match(/filename="([^"]+)"/);
    const blob = await res.blob();
    const a = el("a", { href: URL.createObjectURL(blob), download: name ? name[1] : "members" });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  } catch (e) {
    toast("Export failed: " + e.message, true);
  }
}

async function rename(id, name) {
  try {
    const res = await api("/api/segments/" + encodeURIComponent(id) + "/name", {
      method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ name }),
    });
    toast(`Renamed to ${res.name}`);
    route();
  } catch (e) {
    toast(e.status === 401 || e.status === 403 ? e.message + " — set the token (top right)" : e.message, true);
  }
}

// ---------- customer ----------

async function showCustomer(id) {
  $("#view-customer").hidden = false;
  const box = $("#customer-detail");
  box.replaceChildren(el("p", { class: "muted" }, "Loading…"));
  let c;
  try {
    c = await api("/api/customers/" + encodeURIComponent(id));
  } catch (e) {
    box.replaceChildren(el("p", { class: "empty" }, e.message));
    return;
  }
  const f = c.customer;
  const features = [
    ["Texts", fmt.num(f.frequency)],
    ["First seen", fmt.date(f.first)], ["Last seen", fmt.date(f.last)],
    f.ratings ? ["Mean rating", (f.rating_sum / f.ratings).toFixed(2)] : null,
    f.has_monetary ? ["Monetary", f.monetary] : null,
    f.has_engagement ? ["Engagement", f.engagement] : null,
  ].filter(Boolean);
  box.replaceChildren(el("div", { class: "detail" },
    el("div", { class: "panel" },
      el("h2", {}, f.id),
      c.segment_name ? el("div", { class: "chips" }, el("span", { class: "chip segment clickable", onclick: () => go("segment/" + encodeURIComponent(c.segment_id)) }, "◆ " + c.segment_name)) : null,
      el("h4", {}, "Texts"),
      el("ol", { class: "results" }, c.events.map((e) => el("li", { class: "hit" },
        el("div", { class: "text" }, e.event.text),
        el("div", { class: "chips" }, sentimentChip(e.sentiment.label, e.sentiment.score),
          e.segment_name && el("span", { class: "chip segment" }, "◆ " + e.segment_name),
          (e.aspects || []).map((a) => el("span", { class: "chip aspect", title: "sentiment " + fmt.sent(a.sentiment.score) }, a.aspect.replaceAll("_", " "))),
          e.event.ts && el("span", { class: "chip when" }, fmt.date(e.event.ts))),
        e.why && e.why.pull && e.why.pull.length ? el("div", { class: "muted" }, "Why here: " + e.why.pull.slice(0, 3).map((p) => `${p.feature} ${p.pull >= 0 ? "+" : ""}${p.pull.toFixed(3)}`).join(", ") + (e.why.runner_up_name ? ` (vs ${e.why.runner_up_name})` : "")) : null)))),
    el("div", { class: "panel" },
      el("h4", {}, "Features"),
      el("table", {}, el("tbody", {}, features.map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", { class: "num" }, v))))),
      el("h4", {}, "Personal data"),
      el("p", { class: "muted" }, "Erasing removes this customer's texts, vectors, features, cached vectors, index documents and raw events."),
      el("button", { type: "button", class: "danger", onclick: () => erase(f.id) }, "Erase customer…"))));
}

async function erase(id) {
  if (!confirm(`Erase everything held about ${id}? This cannot be undone.`)) return;
  try {
    const r = await api("/api/customers/" + encodeURIComponent(id), { method: "DELETE" });
    toast(`Erased ${r.events} texts, ${r.index_docs} index documents, ${r.cache_entries} cached vectors, ${r.stream_messages} stream messages`);
    go("search");
  } catch (e) {
    toast(e.message, true);
  }
}

// ---------- chrome ----------

async function health() {
  const h = $("#health");
  try {
    const res = await fetch("/healthz");
    const body = await res.json();
    const down = Object.entries(body.components).filter(([, c]) => c.status === "down").map(([k]) => k);
    h.className = "health " + body.status;
    h.textContent = down.length ? "degraded: " + down.join(", ") : "ready";
    h.title = Object.entries(body.components).map(([k, c]) => `${k}: ${c.status}${c.error ? " (" + c.error + ")" : ""}`).join("\n");
  } catch {
    h.className = "health degraded";
    h.textContent = "server unreachable";
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("#search-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const [sort, order] = $("#sort").value.split("|");
    setFilters({ q: $("#q").value.trim(), sort: sort || "", order: order || "" });
  });
  $("#sort").addEventListener("change", () => $("#search-form").requestSubmit());
  $("#token-btn").addEventListener("click", () => { $("#token-input").value = token(); $("#token-dialog").showModal(); });
  $("#token-dialog").addEventListener("close", () => {
    if ($("#token-dialog").returnValue === "ok") {
      sessionStorage.setItem("attune.token", $("#token-input").value.trim());
      toast("Token saved for this tab");
    }
  });
  window.addEventListener("hashchange", route);
  route();
  health();
  setInterval(health, 15000);
});
