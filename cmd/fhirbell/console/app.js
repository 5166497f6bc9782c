// The fhirbell console: an operator's view of subscriptions, their event
// logs, who is listening across the cluster and how far behind, built only
// on the public API (FHIR REST, $status, $events, $nodes, and a WebSocket
// opened from a $websocket-ticket, the flow a browser app must use). It is
// plain ES modules with no build step. Everything that comes from the
// server is put in the page with textContent, never as HTML. A pasted
// access token lives in sessionStorage: this tab only, gone when it closes.

const backport = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/";
const ext = {
  filter: backport + "backport-filter-criteria",
  heartbeat: backport + "backport-heartbeat-period",
  maxCount: backport + "backport-max-count",
  content: backport + "backport-payload-content",
};

const $ = id => document.getElementById(id);

// el builds an element: attributes (on* are listeners, "text" is
// textContent, dataset keys start with data-) and children.
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") e.textContent = String(v);
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "class") e.className = v;
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// ---- the token and the API --------------------------------------------

const tokenInput = $("token");
tokenInput.value = sessionStorage.getItem("fhirbell.token") || "";
tokenInput.addEventListener("change", () => {
  sessionStorage.setItem("fhirbell.token", tokenInput.value);
  route();
});
$("forget").addEventListener("click", () => {
  tokenInput.value = "";
  sessionStorage.removeItem("fhirbell.token");
  route();
});
$("tokenForm").addEventListener("submit", ev => ev.preventDefault());

function headers(extra) {
  const h = Object.assign({ Accept: "application/fhir+json" }, extra || {});
  if (tokenInput.value) h.Authorization = "Bearer " + tokenInput.value;
  return h;
}

async function fhir(path, init = {}) {
  const res = await fetch("/fhir" + path, { ...init, headers: headers(init.headers) });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    const issue = body.issue && body.issue[0];
    const msg = issue ? (issue.diagnostics || issue.code) : res.statusText;
    const err = new Error(res.status + ": " + msg);
    err.status = res.status;
    throw err;
  }
  return body;
}

function post(path, resource) {
  return fhir(path, { method: "POST", headers: { "Content-Type": "application/fhir+json" }, body: JSON.stringify(resource) });
}

function banner(msg) {
  $("banner").textContent = msg || "";
}

function fail(e) {
  banner(e.status === 401 ? e.message + " — paste an access token above" : e.message);
}

// ---- Parameters helpers -------------------------------------------------

function valueOf(p) {
  if (!p) return "";
  for (const k in p) {
    if (!k.startsWith("value")) continue;
    const v = p[k];
    return typeof v === "object" ? (v.reference || JSON.stringify(v)) : String(v);
  }
  return "";
}

// parts turns a parameter list into { name: [values or nested parts] }.
function parts(list) {
  const out = {};
  for (const p of list || []) {
    (out[p.name] = out[p.name] || []).push(p.part ? parts(p.part) : valueOf(p));
  }
  return out;
}

const one = (ps, name) => (ps[name] || [""])[0];
const num = (ps, name) => Number(one(ps, name) || 0);

// statusOf reads one $status Parameters: the IG's parts and fhirbell's
// cluster view (one fhirbell-node per node that binds the subscription).
function statusOf(params) {
  const ps = parts(params.parameter);
  const nodes = (ps["fhirbell-node"] || []).map(n => ({
    node: one(n, "node-id"), address: one(n, "address"), reported: one(n, "reported"),
    head: num(n, "head"), count: num(n, "binding-count"), maxLag: num(n, "max-lag"),
    oldest: one(n, "oldest-undelivered"),
    bindings: (n.binding || []).map(b => ({
      conn: one(b, "connection"), dialect: one(b, "dialect"), auth: one(b, "auth"),
      cursor: num(b, "cursor"), lag: num(b, "lag"), since: one(b, "since"),
    })),
  }));
  return {
    ref: one(ps, "subscription"), status: one(ps, "status"), topic: one(ps, "topic"),
    events: num(ps, "events-since-subscription-start"), nodes,
    sockets: nodes.reduce((n, x) => n + x.count, 0),
    worstLag: nodes.reduce((n, x) => Math.max(n, x.maxLag), 0),
    lastDelivered: nodes.reduce((n, x) => Math.max(n, ...x.bindings.map(b => b.cursor)), 0),
  };
}

const idOf = ref => ref.slice(ref.lastIndexOf("/") + 1);

// filterOf returns a Subscription's topic filter criteria, or "".
function filterOf(sub) {
  const e = ((sub._criteria || {}).extension || []).find(x => x.url === ext.filter);
  return e ? e.valueString : "";
}

function contentOf(sub) {
  const e = (((sub.channel || {})._payload || {}).extension || []).find(x => x.url === ext.content);
  return e ? e.valueCode : "";
}

function isTopic(sub) {
  return /^https?:\/\/[^?]*SubscriptionTopic/.test(sub.criteria || "") || !!filterOf(sub);
}

function lagCell(lag) {
  return el("td", { class: "num " + (lag > 0 ? "lag-behind" : "lag-0"), text: lag });
}

function ago(instant) {
  if (!instant) return "";
  const s = Math.max(0, (Date.now() - Date.parse(instant)) / 1000);
  return s < 90 ? s.toFixed(0) + " s ago" : (s / 60).toFixed(0) + " min ago";
}

// ---- routing ------------------------------------------------------------

let cleanup = [];

function onLeave(fn) {
  cleanup.push(fn);
}

function every(ms, fn) {
  const t = setInterval(fn, ms);
  onLeave(() => clearInterval(t));
}

function route() {
  for (const fn of cleanup) fn();
  cleanup = [];
  banner("");
  const hash = location.hash.replace(/^#/, "") || "/";
  const view = $("view");
  view.replaceChildren();
  view.className = "";
  let nav = "subs";
  const m = hash.match(/^\/subscriptions\/([A-Za-z0-9\-.]{1,64})$/);
  if (m) showSubscription(view, m[1]);
  else if (hash === "/new") { nav = "new"; showNew(view); }
  else if (hash === "/nodes") { nav = "nodes"; showNodes(view); }
  else showList(view);
  for (const a of document.querySelectorAll("header nav a")) a.classList.toggle("current", a.dataset.nav === nav && !m);
}

window.addEventListener("hashchange", route);

async function refreshStats() {
  try {
    const st = await (await fetch("/console/stats")).json();
    $("sockets").textContent = st.sockets;
    $("bindings").textContent = st.bindings;
    $("topics").textContent = st.topics;
  } catch (e) { /* the server is restarting */ }
}

// ---- the subscriptions list --------------------------------------------

const pageSize = 20;

function showList(view) {
  let offset = 0;
  const statusSel = el("select", { "aria-label": "status", "data-testid": "list-status" },
    ["", "active", "requested", "error", "off"].map(s => el("option", { value: s, text: s || "any status" })));
  const text = el("input", { type: "search", placeholder: "filter by id, topic or criteria", "aria-label": "filter" });
  const tbody = el("tbody", { "data-testid": "subs" });
  const pageInfo = el("span", { class: "muted" });
  const prev = el("button", { class: "secondary", text: "← newer", onclick: () => { offset = Math.max(0, offset - pageSize); load(); } });
  const next = el("button", { class: "secondary", text: "older →", onclick: () => { offset += pageSize; load(); } });
  let rows = [];

  function render() {
    const q = text.value.trim().toLowerCase();
    tbody.replaceChildren(...rows.filter(r => !q || r.search.includes(q)).map(r => r.tr));
  }

  async function load() {
    try {
      let path = "/Subscription?_count=" + pageSize + "&_offset=" + offset + "&_sort=-_lastUpdated";
      if (statusSel.value) path += "&status=" + encodeURIComponent(statusSel.value);
      const bundle = await fhir(path);
      const subs = (bundle.entry || []).map(e => e.resource);
      const stats = {};
      if (subs.length) {
        const st = await fhir("/Subscription/$status?id=" + subs.map(s => encodeURIComponent(s.id)).join(","));
        for (const e of st.entry || []) {
          const s = statusOf(e.resource);
          stats[idOf(s.ref)] = s;
        }
      }
      rows = subs.map(sub => {
        const s = stats[sub.id] || { events: 0, sockets: 0, worstLag: 0, lastDelivered: 0, status: sub.status };
        const what = isTopic(sub) ? sub.criteria.replace(/^.*\//, "") + (filterOf(sub) ? " · " + filterOf(sub) : "") : sub.criteria;
        const tr = el("tr", { "data-testid": "sub-" + sub.id },
          el("td", {}, el("a", { href: "#/subscriptions/" + sub.id }, el("code", { text: sub.id }))),
          el("td", {}, el("span", { class: "status-" + s.status, text: s.status })),
          el("td", {}, el("span", { class: "pill", text: isTopic(sub) ? "topic" : "criteria" }), " ", el("code", { text: what })),
          el("td", { class: "num", text: s.events }),
          el("td", { class: "num", text: s.sockets }),
          lagCell(s.worstLag),
          el("td", { class: "num", text: s.lastDelivered || "–" }));
        return { tr, search: (sub.id + " " + what).toLowerCase() };
      });
      render();
      prev.disabled = offset === 0;
      next.disabled = !(bundle.link || []).some(l => l.relation === "next");
      pageInfo.textContent = subs.length ? (offset + 1) + "–" + (offset + subs.length) + (bundle.total !== undefined ? " of " + bundle.total : "") : "none";
    } catch (e) { fail(e); }
  }

  statusSel.addEventListener("change", () => { offset = 0; load(); });
  text.addEventListener("input", render);
  view.append(el("section", {},
    el("h2", {}, "Subscriptions", el("span", { class: "sub", text: "bound sockets and lag across the cluster" })),
    el("div", { class: "row" }, statusSel, text, el("a", { href: "#/new" }, el("button", { text: "New subscription" }))),
    el("table", {},
      el("thead", {}, el("tr", {}, ["id", "status", "topic or criteria"].map(h => el("th", { text: h })),
        ["events", "sockets", "worst lag", "last delivered"].map(h => el("th", { class: "num", text: h })))),
      tbody),
    el("div", { class: "pager" }, prev, next, pageInfo)));
  load();
  every(2000, load);
}

// ---- creating a subscription -------------------------------------------

function showNew(view) {
  const mode = el("select", { "data-testid": "mode", "aria-label": "kind" },
    el("option", { value: "topic", text: "topic (Backport IG)" }), el("option", { value: "criteria", text: "legacy R4 criteria" }));
  const topicSel = el("select", { "data-testid": "topic", "aria-label": "topic" });
  const topicHelp = el("div", { class: "help" });
  const filters = el("div", { "data-testid": "filters" });
  const addFilter = el("button", { class: "secondary", type: "button", text: "+ filter", "data-testid": "add-filter" });
  const preview = el("code", { "data-testid": "filter-preview" });
  const criteria = el("input", { type: "text", size: 60, value: "Observation?code=http://loinc.org|8867-4", "data-testid": "criteria", "aria-label": "criteria" });
  const content = el("select", { "data-testid": "content", "aria-label": "content" },
    ["full-resource", "id-only", "empty"].map(c => el("option", { value: c, text: c })));
  const heartbeat = el("input", { type: "number", min: 1, value: 60, "data-testid": "heartbeat", "aria-label": "heartbeat period" });
  const maxCount = el("input", { type: "number", min: 1, value: 10, "aria-label": "max count" });
  const reason = el("input", { type: "text", size: 40, value: "fhirbell console", "aria-label": "reason" });
  const create = el("button", { type: "submit", text: "Create", "data-testid": "create" });
  const err = el("p", { class: "error", "data-testid": "create-error" });
  let topics = [];

  const topicOf = () => topics.find(t => t.url === topicSel.value);

  function filterRow() {
    const t = topicOf();
    const cfb = (t && t.canFilterBy) || [];
    const sel = el("select", { "aria-label": "filter parameter", "data-testid": "filter-param" },
      cfb.map(f => el("option", { value: (f.resource || "") + "\u0000" + f.filterParameter, text: f.filterParameter + (f.description ? " — " + f.description : "") })));
    const value = el("input", { type: "text", placeholder: "value, e.g. http://loinc.org|8867-4", "aria-label": "filter value", "data-testid": "filter-value", oninput: updatePreview });
    const row = el("div", { class: "filter" }, sel, value,
      el("button", { class: "secondary", type: "button", text: "×", title: "remove", onclick: () => { row.remove(); updatePreview(); } }));
    sel.addEventListener("change", updatePreview);
    filters.append(row);
    updatePreview();
  }

  // filterCriteria joins the filter rows into one search URL of the
  // topic's resource type: Type?param=value&param=value.
  function filterCriteria() {
    const t = topicOf();
    if (!t) return "";
    let type = "";
    const q = [];
    for (const row of filters.children) {
      const [sel, input] = row.querySelectorAll("select, input");
      if (!input.value.trim()) continue;
      const [res, param] = sel.value.split("\u0000");
      type = type || res;
      q.push(param + "=" + input.value.trim());
    }
    if (!q.length) return "";
    type = type || resourceOfTopic(t);
    return type + "?" + q.join("&");
  }

  function updatePreview() {
    const topic = mode.value === "topic";
    for (const e of view.querySelectorAll("[data-mode=topic]")) e.hidden = !topic;
    for (const e of view.querySelectorAll("[data-mode=criteria]")) e.hidden = topic;
    preview.textContent = filterCriteria() || "(no filter: every event of the topic)";
    const t = topicOf();
    topicHelp.textContent = t ? (t.description || "") + (t.canFilterBy ? " · " + t.canFilterBy.length + " filters" : "") : "";
  }

  topicSel.addEventListener("change", () => { filters.replaceChildren(); updatePreview(); });
  mode.addEventListener("change", updatePreview);
  addFilter.addEventListener("click", filterRow);

  const form = el("form", {
    onsubmit: async ev => {
      ev.preventDefault();
      err.textContent = "";
      const channel = {
        type: "websocket", payload: "application/fhir+json",
        extension: [{ url: ext.heartbeat, valueUnsignedInt: Number(heartbeat.value) || 60 }, { url: ext.maxCount, valuePositiveInt: Number(maxCount.value) || 10 }],
        _payload: { extension: [{ url: ext.content, valueCode: content.value }] },
      };
      const sub = { resourceType: "Subscription", status: "requested", reason: reason.value || "fhirbell console", channel };
      if (mode.value === "topic") {
        sub.criteria = topicSel.value;
        const fc = filterCriteria();
        if (fc) sub._criteria = { extension: [{ url: ext.filter, valueString: fc }] };
      } else {
        sub.criteria = criteria.value;
        delete channel.extension;
        delete channel._payload;
      }
      try {
        const created = await post("/Subscription", sub);
        location.hash = "#/subscriptions/" + created.id;
      } catch (e) { err.textContent = e.message; }
    },
  },
  el("div", { class: "row" }, el("label", { text: "kind" }), mode),
  el("div", { class: "row", "data-mode": "topic" }, el("label", { text: "topic" }), topicSel),
  el("div", { class: "row", "data-mode": "topic" }, el("label"), topicHelp),
  el("div", { class: "row", "data-mode": "topic" }, el("label", { text: "filters" }), addFilter, el("span", { class: "help", text: "from the topic's canFilterBy; several are ANDed" })),
  el("div", { "data-mode": "topic" }, filters),
  el("div", { class: "row", "data-mode": "topic" }, el("label", { text: "filter criteria" }), preview),
  el("div", { class: "row", "data-mode": "topic" }, el("label", { text: "content" }), content),
  el("div", { class: "row", "data-mode": "topic" }, el("label", { text: "heartbeat (s)" }), heartbeat, el("label", { text: "max events per frame" }), maxCount),
  el("div", { class: "row", "data-mode": "criteria" }, el("label", { text: "criteria" }), criteria),
  el("div", { class: "row" }, el("label", { text: "reason" }), reason),
  el("div", { class: "row" }, el("label"), create),
  err);

  view.append(el("section", {}, el("h2", {}, "New subscription", el("span", { class: "sub", text: "a WebSocket channel" })), form));
  updatePreview();
  (async () => {
    try {
      const bundle = await fhir("/SubscriptionTopic?_count=200");
      topics = (bundle.entry || []).map(e => e.resource).filter(t => t.url);
      topics.sort((a, b) => (a.title || a.url).localeCompare(b.title || b.url));
      topicSel.replaceChildren(...topics.map(t => el("option", { value: t.url, text: (t.title || t.id) + " — " + t.url })));
      const obs = topics.find(t => /Observation-changed$/.test(t.url));
      if (obs) topicSel.value = obs.url;
      topicSel.dataset.loaded = "true";
      updatePreview();
    } catch (e) { fail(e); }
  })();
}

function resourceOfTopic(t) {
  for (const tr of t.resourceTrigger || []) {
    if (tr.resource) return tr.resource.replace(/^.*\//, "");
  }
  return ((t.canFilterBy || [])[0] || {}).resource || "";
}

// ---- one subscription ---------------------------------------------------

// exampleFor builds a resource of the search's type that matches its
// simple parameters (code, status, subject/patient, category), with the
// elements R4 requires of the common types: the body of "send a test
// write", editable before it is sent.
function exampleFor(search) {
  const [type, query] = search.split("?");
  const r = { resourceType: type };
  const defaults = {
    Observation: { status: "final", code: { coding: [{ system: "http://loinc.org", code: "8867-4", display: "Heart rate" }] } },
    DiagnosticReport: { status: "final", code: { text: "test report" } },
    Encounter: { status: "in-progress", class: { system: "http://terminology.hl7.org/CodeSystem/v3-ActCode", code: "AMB" } },
    Condition: { subject: { reference: "Patient/example" } },
    MedicationRequest: { status: "active", intent: "order", medicationCodeableConcept: { text: "test" }, subject: { reference: "Patient/example" } },
    ServiceRequest: { status: "active", intent: "order", subject: { reference: "Patient/example" } },
    Task: { status: "requested", intent: "order" },
    Appointment: { status: "booked", participant: [{ status: "accepted" }] },
    Communication: { status: "completed" },
    Patient: { name: [{ family: "Test" }] },
  };
  Object.assign(r, JSON.parse(JSON.stringify(defaults[type] || {})));
  for (const pair of (query || "").split("&")) {
    if (!pair) continue;
    const i = pair.indexOf("=");
    const name = pair.slice(0, i).split(":")[0], v = decodeURIComponent(pair.slice(i + 1)).split(",")[0];
    const coding = () => {
      const [system, code] = v.includes("|") ? v.split("|") : [undefined, v];
      return { coding: [system ? { system, code } : { code }] };
    };
    if (name === "code") r.code = coding();
    else if (name === "category") r.category = [coding()];
    else if (name === "status") r.status = v;
    else if (name === "subject" || name === "patient") r.subject = { reference: v.includes("/") ? v : "Patient/" + v };
    else if (name === "intent") r.intent = v;
  }
  return r;
}

function showSubscription(view, id) {
  view.className = "two";
  const summary = el("div", { "data-testid": "summary" });
  const nodesBody = el("tbody", { "data-testid": "bindings" });
  const feed = el("ul", { class: "feed", id: "feed", "data-testid": "feed" });
  const conn = el("div", { class: "muted", "data-testid": "conn", text: "not connected" });
  const listenBtn = el("button", { class: "secondary", text: "Listen", "data-testid": "listen" });
  const writeBody = el("textarea", { rows: 9, "data-testid": "test-body", "aria-label": "test resource" });
  const writeBtn = el("button", { text: "Send test write", "data-testid": "test-write" });
  const writeResult = el("div", { class: "muted", "data-testid": "test-result" });
  const logBody = el("tbody", { "data-testid": "events" });
  const logInfo = el("span", { class: "muted" });
  const logPrev = el("button", { class: "secondary", text: "← older" });
  const logNext = el("button", { class: "secondary", text: "newer →" });
  const logSize = 10;
  let head = 0, logUntil = 0, sub = null;

  async function loadStatus() {
    try {
      const st = await fhir("/Subscription/" + id + "/$status");
      const s = statusOf(st.entry[0].resource);
      const grew = s.events !== head;
      head = s.events;
      summary.replaceChildren(
        el("div", { class: "row" }, el("label", { text: "status" }), el("b", { class: "status-" + s.status, text: s.status, "data-testid": "status" })),
        el("div", { class: "row" }, el("label", { text: isTopic(sub) ? "topic" : "criteria" }), el("code", { text: sub.criteria })),
        filterOf(sub) ? el("div", { class: "row" }, el("label", { text: "filter" }), el("code", { text: filterOf(sub) })) : null,
        contentOf(sub) ? el("div", { class: "row" }, el("label", { text: "content" }), el("span", { text: contentOf(sub) })) : null,
        el("div", { class: "row" }, el("label", { text: "events so far" }), el("b", { text: s.events, "data-testid": "events-total" })),
        el("div", { class: "row" }, el("label", { text: "bound sockets" }), el("b", { text: s.sockets, "data-testid": "bound" }),
          el("label", { text: "worst lag" }), el("b", { class: s.worstLag > 0 ? "lag-behind" : "lag-0", text: s.worstLag, "data-testid": "worst-lag" })));
      const rows = [];
      for (const n of s.nodes) {
        for (const b of n.bindings) {
          rows.push(el("tr", { "data-testid": "binding" },
            el("td", {}, el("code", { text: n.node.slice(0, 8), title: n.node })),
            el("td", {}, n.address ? el("code", { text: n.address }) : ""),
            el("td", { class: "num", text: b.conn }),
            el("td", { text: b.dialect }), el("td", { text: b.auth }),
            el("td", { class: "num", text: b.cursor, "data-testid": "cursor" }),
            el("td", { class: "num " + (b.lag > 0 ? "lag-behind" : "lag-0"), text: b.lag, "data-testid": "lag" }),
            el("td", { class: "muted", text: ago(n.reported) })));
        }
        if (n.count > n.bindings.length) {
          rows.push(el("tr", {}, el("td", { colspan: 8, class: "muted", text: (n.count - n.bindings.length) + " more bindings on this node, none further behind" })));
        }
      }
      if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: 8, class: "muted", text: "no socket is bound to this subscription on any live node" })));
      nodesBody.replaceChildren(...rows);
      if (grew && logUntil === 0) loadLog();
    } catch (e) { fail(e); }
  }

  // The event log, a page of logSize ending at logUntil (0: the newest).
  async function loadLog() {
    const until = logUntil || head;
    const since = Math.max(1, until - logSize + 1);
    if (until < 1) {
      logBody.replaceChildren(el("tr", {}, el("td", { colspan: 5, class: "muted", text: "no events yet" })));
      logInfo.textContent = "";
      logPrev.disabled = logNext.disabled = true;
      return;
    }
    try {
      const b = await fhir("/Subscription/" + id + "/$events?eventsSinceNumber=" + since + "&eventsUntilNumber=" + until + "&content=id-only");
      const status = parts(b.entry[0].resource.parameter);
      const evs = (status["notification-event"] || []).slice().reverse();
      logBody.replaceChildren(...(evs.length ? evs.map(ev => el("tr", { "data-testid": "event" },
        el("td", { class: "num", text: one(ev, "event-number") }),
        el("td", { text: one(ev, "timestamp") }),
        el("td", {}, el("code", { text: one(ev, "focus") })))) :
        [el("tr", {}, el("td", { colspan: 3, class: "muted", text: "events " + since + "–" + until + " are no longer retained" }))]));
      logInfo.textContent = "events " + since + "–" + until + " of " + head;
      logPrev.disabled = since <= 1;
      logNext.disabled = until >= head;
    } catch (e) { fail(e); }
  }
  logPrev.addEventListener("click", () => { logUntil = Math.max(1, (logUntil || head) - logSize); loadLog(); });
  logNext.addEventListener("click", () => { logUntil = (logUntil || head) + logSize; if (logUntil >= head) logUntil = 0; loadLog(); });

  // The live feed: a socket from a fresh ticket; when it drops, another
  // ticket and a resume after the last event seen, so the feed has no gap.
  let socket = null, lastEvent = 0, retry = 0, stopped = false;
  async function listen(resume) {
    try {
      const params = await fhir("/Subscription/" + id + "/$websocket-ticket", { method: "POST" });
      const url = valueOf((params.parameter || []).find(p => p.name === "websocket-url"));
      if (stopped) return;
      const ws = new WebSocket(url);
      socket = ws;
      ws.onopen = () => {
        retry = 0;
        conn.textContent = "listening to Subscription/" + id;
        listenBtn.textContent = "Stop";
        if (resume && lastEvent > 0) ws.send("resume " + id + " " + lastEvent);
      };
      ws.onmessage = m => show(m.data);
      ws.onclose = ev => {
        if (stopped) return;
        conn.textContent = "closed (" + ev.code + (ev.reason ? " " + ev.reason : "") + "), reconnecting";
        setTimeout(() => { if (!stopped) listen(true); }, Math.min(10000, 500 * 2 ** retry++));
      };
    } catch (e) { conn.textContent = e.message; }
  }
  function stop() {
    stopped = true;
    if (socket) { socket.onclose = null; socket.close(1000); }
    socket = null;
    conn.textContent = "not connected";
    listenBtn.textContent = "Listen";
  }
  listenBtn.addEventListener("click", () => {
    if (socket) stop();
    else { stopped = false; listen(lastEvent > 0); }
  });
  onLeave(stop);

  function show(text) {
    let kind = "text", meta = text;
    try {
      const msg = JSON.parse(text);
      if (msg.resourceType === "Bundle") {
        const st = parts(msg.entry[0].resource.parameter);
        const evs = st["notification-event"] || [];
        kind = one(st, "type");
        const nums = evs.map(e => one(e, "event-number"));
        for (const n of nums) lastEvent = Math.max(lastEvent, Number(n));
        const foci = evs.map(e => one(e, "focus")).filter(Boolean);
        meta = (nums.length ? "events " + nums.join(", ") : "events so far " + one(st, "events-since-subscription-start")) +
          (foci.length ? " · " + foci.join(", ") : "") + " · " + (msg.entry.length - 1) + " resource entries";
        if (kind === "handshake" && !lastEvent) lastEvent = num(st, "events-since-subscription-start");
      } else if (msg.resourceType === "OperationOutcome") {
        kind = "error";
        meta = (msg.issue && msg.issue[0] && msg.issue[0].diagnostics) || "";
      }
    } catch (e) { /* legacy text frames: bound, ping */ }
    let raw = text;
    try { raw = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* not JSON */ }
    const li = el("li", { "data-kind": kind },
      el("span", { class: "kind", text: kind }),
      el("span", { class: "meta", text: meta }),
      el("span", { class: "muted", text: " · " + new Date().toLocaleTimeString() }),
      el("details", {}, el("summary", { text: "raw" }), el("pre", { text: raw })));
    feed.prepend(li);
    while (feed.children.length > 200) feed.lastChild.remove();
  }

  writeBtn.addEventListener("click", async () => {
    writeResult.textContent = "";
    try {
      const r = JSON.parse(writeBody.value);
      const created = await post("/" + encodeURIComponent(r.resourceType), r);
      writeResult.textContent = "created " + created.resourceType + "/" + created.id;
      writeResult.className = "ok";
    } catch (e) {
      writeResult.textContent = e.message;
      writeResult.className = "error";
    }
  });

  view.append(
    el("section", {},
      el("h2", {}, "Subscription", el("code", { text: id })),
      summary,
      el("h2", {}, "Bindings by node", el("span", { class: "sub", text: "from each node's latest report" })),
      el("table", {}, el("thead", {}, el("tr", {}, el("th", { text: "node" }), el("th", { text: "address" }), el("th", { class: "num", text: "conn" }),
        el("th", { text: "dialect" }), el("th", { text: "auth" }), el("th", { class: "num", text: "cursor" }), el("th", { class: "num", text: "lag" }), el("th", { text: "reported" }))), nodesBody),
      el("h2", {}, "Event log", el("span", { class: "sub", text: "$events, newest first" })),
      el("table", {}, el("thead", {}, el("tr", {}, el("th", { class: "num", text: "#" }), el("th", { text: "time" }), el("th", { text: "focus" }))), logBody),
      el("div", { class: "pager" }, logPrev, logNext, logInfo)),
    el("section", {},
      el("h2", {}, "Live feed", listenBtn),
      conn, feed,
      el("h2", {}, "Send a test write", el("span", { class: "sub", text: "a resource that matches; edit it as you like" })),
      writeBody, el("div", { class: "row" }, writeBtn, writeResult)));

  (async () => {
    try {
      sub = await fhir("/Subscription/" + id);
      writeBody.value = JSON.stringify(exampleFor(filterOf(sub) || (isTopic(sub) ? resourceOfTopicURL(sub.criteria) : sub.criteria)), null, 2);
      await loadStatus();
      loadLog();
      if (sub.status === "active") listen(false);
      every(1000, loadStatus);
    } catch (e) { fail(e); }
  })();
}

// resourceOfTopicURL guesses the resource type of a built-in topic from its
// canonical (…/SubscriptionTopic/Observation-changed).
function resourceOfTopicURL(url) {
  const m = url.match(/SubscriptionTopic\/([A-Z][A-Za-z]+)-/);
  return m ? m[1] : "Observation";
}

// ---- nodes --------------------------------------------------------------

function showNodes(view) {
  const tbody = el("tbody", { "data-testid": "nodes" });
  async function load() {
    try {
      const p = await fhir("/Subscription/$nodes");
      const nodes = parts(p.parameter).node || [];
      tbody.replaceChildren(...(nodes.length ? nodes.map(n => {
        const subs = n.subscription || [];
        return el("tr", { "data-testid": "node" },
          el("td", {}, el("code", { text: one(n, "node-id") })),
          el("td", {}, el("code", { text: one(n, "address") })),
          el("td", { text: one(n, "started") }),
          el("td", { class: "muted", text: ago(one(n, "reported")) }),
          el("td", { class: "num", text: one(n, "sockets") }),
          el("td", { class: "num", text: one(n, "bindings") }),
          el("td", {}, subs.length ? subs.map(s => el("div", {},
            el("a", { href: "#/subscriptions/" + idOf(one(s, "subscription")) }, el("code", { text: idOf(one(s, "subscription")) })),
            " · " + one(s, "binding-count") + " bound · lag ",
            el("span", { class: num(s, "max-lag") > 0 ? "lag-behind" : "lag-0", text: one(s, "max-lag") }))) : el("span", { class: "muted", text: "none (of those you manage)" })));
      }) : [el("tr", {}, el("td", { colspan: 7, class: "muted", text: "no live node" }))]));
    } catch (e) { fail(e); }
  }
  view.append(el("section", {},
    el("h2", {}, "Nodes", el("span", { class: "sub", text: "every node that reported recently; a silent one drops out" })),
    el("table", {}, el("thead", {}, el("tr", {}, ["node", "address", "started", "reported"].map(h => el("th", { text: h })),
      el("th", { class: "num", text: "sockets" }), el("th", { class: "num", text: "bindings" }), el("th", { text: "subscriptions bound here" }))), tbody)));
  load();
  every(2000, load);
}

route();
refreshStats();
setInterval(refreshStats, 2000);
