// The Mosaic gateway dashboard: one script for every page (no framework, no build
// step). <body data-page="…"> says which page this is.
//
// Everything shown comes from the API and may be hostile (agent names, commands,
// notification texts, key and user names): it is only ever put in the page with
// textContent, createElement and setAttribute on plain attributes; hrefs are built
// with encodeURIComponent. Never innerHTML.
//
// Test hooks (the DOM contract of issue 13): body.dataset.ready = "1" after the
// first successful data render, body.dataset.refreshes counts the later ones;
// window.mosaicRender = {startedMs, fetchedMs, renderedMs, completeMs, rows} on the
// agents page (performance.now() when this script started, when the agents' JSON
// was parsed, when the table's first screen was built and laid out, and when every
// row was; rows: how many then).
"use strict";

(() => {
  const POLL_MS = 2000;
  const body = document.body;
  const page = body.dataset.page;
  const startedMs = performance.now();
  let csrfToken = "";

  // ---- DOM helpers ---------------------------------------------------------

  const $ = (selector, root = document) => root.querySelector(selector);

  /** A new element with an optional class and text. */
  function make(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  /** Sets a node's text only when it changed (no needless layout work). */
  function setText(node, text) {
    const value = text === undefined || text === null ? "" : String(text);
    if (node.textContent !== value) node.textContent = value;
  }

  /** Shows `text` in `node` (hidden when empty). */
  function showMessage(node, text) {
    if (!node) return;
    setText(node, text || "");
    node.hidden = !text;
  }

  /** Marks a data render: ready the first time, a refresh every later time. */
  function markRendered() {
    if (body.dataset.ready !== "1") {
      body.dataset.ready = "1";
    } else {
      body.dataset.refreshes = String(Number(body.dataset.refreshes || "0") + 1);
    }
  }

  // ---- Formatting ----------------------------------------------------------

  const numberFormat = new Intl.NumberFormat("en-US");

  /** "45s", "3m", "2h 5m", "3d 4h"; "" for null. */
  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "";
    const s = Math.max(0, Math.floor(seconds));
    if (s < 60) return `${s}s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m}m`;
    const h = Math.floor(m / 60);
    if (h < 24) return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
    const d = Math.floor(h / 24);
    return h % 24 ? `${d}d ${h % 24}h` : `${d}d`;
  }

  const count = (value) => (value === null || value === undefined ? "" : numberFormat.format(value));

  /** "$0.0123" from a decimal string or number; "" for null. */
  function dollars(value) {
    if (value === null || value === undefined || value === "") return "";
    const number = Number(value);
    if (!Number.isFinite(number)) return String(value);
    if (number === 0) return "$0.00";
    return "$" + (typeof value === "string" ? value : number.toFixed(number < 1 ? 4 : 2));
  }

  const pad = (n) => String(n).padStart(2, "0");
  /** YYYY-MM-DD of a Date, in local time (what a date input shows). */
  const isoDay = (date) => `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;

  /** A Unix time (seconds) as local "YYYY-MM-DD HH:MM"; "" for null. */
  function dateTime(seconds) {
    if (seconds === null || seconds === undefined) return "";
    const date = new Date(seconds * 1000);
    return `${isoDay(date)} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
  }

  /** A time in milliseconds as "HH:MM:SS", with the date when not today. */
  function clockTime(ms) {
    const date = new Date(ms);
    const time = `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
    return isoDay(date) === isoDay(new Date()) ? time : `${isoDay(date)} ${time}`;
  }

  const STATE_ICONS = { waiting: "⚠", working: "▶", idle: "○" };

  /** "⚠ waiting 3m" for an agent row. */
  function stateText(agent) {
    if (!agent.state) return "";
    const icon = STATE_ICONS[agent.state] || "·";
    const since = duration(agent.state_seconds);
    return since ? `${icon} ${agent.state} ${since}` : `${icon} ${agent.state}`;
  }

  // ---- The API -------------------------------------------------------------

  /** The login page, coming back here afterwards. */
  function goToLogin() {
    const next = location.pathname + location.search;
    location.assign("/login?next=" + encodeURIComponent(next));
  }

  /** An API failure, with the server's message. */
  class ApiFailure extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  /**
   * One API request. State-changing ones carry the CSRF token. 401 sends the
   * browser to the login page (except on the login page itself); another error
   * status throws an ApiFailure with the server's message.
   */
  async function api(method, path, { json, headers = {} } = {}) {
    const options = {
      method,
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json", ...headers },
    };
    if (method !== "GET" && csrfToken) options.headers["X-CSRF-Token"] = csrfToken;
    if (json !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(json);
    }
    let response;
    try {
      response = await fetch(path, options);
    } catch (error) {
      throw new ApiFailure(0, "network", "Cannot reach the gateway; is it running?");
    }
    if (response.status === 401 && page !== "login") {
      goToLogin();
      throw new ApiFailure(401, "unauthenticated", "Your session ended; sign in again.");
    }
    if (response.ok || response.status === 304) return response;
    let code = "error";
    let message = `The gateway answered ${response.status}.`;
    try {
      const answer = await response.json();
      if (answer && answer.error) {
        code = answer.error.code || code;
        message = answer.error.message || message;
      }
    } catch (ignored) {
      // Not JSON: keep the status line.
    }
    throw new ApiFailure(response.status, code, message);
  }

  /** A page-level problem (or none) in #page-error. */
  function pageError(text) {
    showMessage($("#page-error"), text);
  }

  /** The signed-in user; fills the nav and wires sign-out. */
  async function loadSession() {
    const response = await api("GET", "/api/auth/me");
    const me = await response.json();
    csrfToken = me.csrf_token || "";
    setText($("#whoami"), me.user.email);
    if (me.user.role === "admin") {
      const after = $("#nav-usage");
      const users = make("a", "", "Users");
      users.id = "nav-users";
      users.setAttribute("href", "/users");
      const keys = make("a", "", "Keys");
      keys.id = "nav-keys";
      keys.setAttribute("href", "/keys");
      after.after(keys, users);
    }
    const current = $(`#nav-${page === "agent" ? "agents" : page}`);
    if (current) current.setAttribute("aria-current", "page");
    $("#logout").addEventListener("click", async () => {
      try {
        await api("POST", "/api/auth/logout");
        location.assign("/login");
      } catch (failure) {
        // (401: already signed out, and on the way to the login page.)
        if (failure.status !== 401) pageError(`Could not sign out: ${failure.message}`);
      }
    });
    return me;
  }

  /** Runs `task` now and then POLL_MS after each run ends (runs never overlap). */
  function poll(task) {
    const run = async () => {
      try {
        await task();
      } finally {
        setTimeout(run, POLL_MS);
      }
    };
    return run();
  }

  // ---- Login ---------------------------------------------------------------

  /** `next` if it is a path on this site, else /agents (no open redirect). */
  function safeNext() {
    const next = new URLSearchParams(location.search).get("next") || "";
    return /^\/(?![/\\])/.test(next) ? next : "/agents";
  }

  function loginPage() {
    const form = $("#login-form");
    const error = $("#login-error");
    const submit = $("#login-submit");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      setText(error, "");
      submit.disabled = true;
      try {
        await api("POST", "/api/auth/login", {
          json: { email: $("#login-email").value.trim(), password: $("#login-password").value },
        });
        location.assign(safeNext());
      } catch (failure) {
        setText(error, failure.status === 401 ? "Wrong email or password." : failure.message);
        $("#login-password").select();
        submit.disabled = false;
      }
    });
    markRendered();
  }

  // ---- Agents --------------------------------------------------------------

  /** Rows built before the first paint; more than a tall screen shows. */
  const FIRST_SCREEN_ROWS = 60;

  /** Resolves after the next frame is painted (or soon, in a hidden tab). */
  function nextFrame() {
    return new Promise((resolve) => {
      requestAnimationFrame(() => setTimeout(resolve, 0));
      setTimeout(resolve, 100);
    });
  }

  const AGENT_CELLS = ["name", "status", "state", "message", "branch", "tool", "uptime", "tokens", "cost"];

  /** The text of each cell of an agent's row, in AGENT_CELLS order. */
  function agentTexts(agent) {
    return [
      agent.name,
      agent.status || "",
      stateText(agent),
      agent.state_message || agent.activity || "",
      agent.branch || "",
      agent.last_tool || "",
      duration(agent.uptime_seconds),
      count(agent.tokens_today),
      dollars(agent.cost_usd_today),
    ];
  }

  /**
   * The row every agent row is cloned from (cloning one is several times faster
   * than building ten elements). The table is laid out as a grid, so rows and
   * cells carry their table roles explicitly.
   */
  let agentRowPrototype = null;

  /** A new, empty row for the agent `name`: {row, cells, texts, quiet}. */
  function newAgentRow(name) {
    if (!agentRowPrototype) {
      agentRowPrototype = document.createElement("tr");
      agentRowPrototype.setAttribute("role", "row");
      for (const cell of AGENT_CELLS) {
        const td = make("td", `agent-${cell}`);
        td.setAttribute("role", "cell");
        if (cell === "tokens" || cell === "cost") td.classList.add("num");
        agentRowPrototype.append(td);
      }
      agentRowPrototype.firstChild.append(make("a"));
    }
    const row = agentRowPrototype.cloneNode(true);
    row.dataset.agent = name;
    const cells = Array.from(row.children);
    const link = cells[0].firstChild;
    link.textContent = name;
    link.setAttribute("href", "/agents/" + encodeURIComponent(name));
    return { row, cells, texts: [name], quiet: false };
  }

  /** Brings a row up to date with `agent`, touching only what changed. */
  function updateAgentRow(entry, agent) {
    const texts = agentTexts(agent);
    for (let index = 1; index < texts.length; index += 1) {
      if (entry.texts[index] !== texts[index]) {
        const cell = entry.cells[index];
        cell.textContent = texts[index];
        // A title set for a cut text (see showFullText) is stale now.
        if (cell.title) cell.removeAttribute("title");
      }
    }
    entry.texts = texts;
    const state = agent.state || "";
    const status = agent.status || "";
    if (entry.row.dataset.state !== state) {
      entry.row.dataset.state = state;
      entry.row.classList.toggle("waiting", state === "waiting");
    }
    if (entry.row.dataset.status !== status) entry.row.dataset.status = status;
    const quiet = !agent.state_message;
    if (entry.quiet !== quiet) {
      entry.quiet = quiet;
      entry.cells[3].classList.toggle("quiet", quiet);
    }
  }

  /**
   * Gives a cell whose text is cut by its ellipsis a title with the whole text, when
   * the pointer reaches it (cheaper than a title on each of 9,000 cells up front).
   */
  function showFullText(event) {
    const cell = event.target.closest("td");
    if (cell && !cell.title && cell.scrollWidth > cell.clientWidth) {
      cell.setAttribute("title", cell.textContent);
    }
  }

  function agentsPage() {
    const tbody = $("#agents tbody");
    const filter = $("#agents-filter");
    const rows = new Map();
    let etag = "";
    let agents = [];

    function applyFilter() {
      const words = filter.value.trim().toLowerCase();
      let shown = 0;
      for (const entry of rows.values()) {
        const hide = words !== "" && !entry.texts.slice(0, 6).join(" ").toLowerCase().includes(words);
        if (entry.row.hidden !== hide) entry.row.hidden = hide;
        if (!hide) shown += 1;
      }
      const waiting = agents.filter((agent) => agent.state === "waiting").length;
      let summary = `${numberFormat.format(agents.length)} agent${agents.length === 1 ? "" : "s"}`;
      if (waiting) summary += `, ${waiting} waiting`;
      if (words !== "") summary += ` (${shown} shown)`;
      setText($("#agents-count"), summary);
    }
    filter.addEventListener("input", applyFilter);
    tbody.addEventListener("pointerover", showFullText);

    /** Builds rows for `list` (all new agents) into a fragment. */
    function buildRows(list, built) {
      const fragment = document.createDocumentFragment();
      for (const agent of list) {
        if (rows.has(agent.name)) continue;
        const entry = newAgentRow(agent.name);
        rows.set(agent.name, entry);
        built.add(agent.name);
        updateAgentRow(entry, agent);
        fragment.append(entry.row);
      }
      return fragment;
    }

    /**
     * Shows `answer`. The first time, the rows of the first screen are built, laid
     * out and timed (window.mosaicRender) before the others, so the page shows
     * agents as early as it can; after that, rows are updated in place.
     */
    async function render(answer, fetchedMs) {
      agents = answer.agents || [];
      const built = new Set();
      if (rows.size === 0 && agents.length > 0) {
        tbody.append(buildRows(agents.slice(0, FIRST_SCREEN_ROWS), built));
        if (!window.mosaicRender) {
          // Reading offsetHeight forces layout, so the time includes it.
          void tbody.offsetHeight;
          const renderedMs = performance.now();
          window.mosaicRender = { startedMs, fetchedMs, renderedMs, completeMs: null, rows: 0 };
        }
        if (agents.length > FIRST_SCREEN_ROWS) {
          await nextFrame();
          tbody.append(buildRows(agents.slice(FIRST_SCREEN_ROWS), built));
        }
      }
      const seen = new Set();
      let position = 0;
      for (const agent of agents) {
        if (seen.has(agent.name)) continue;
        seen.add(agent.name);
        let entry = rows.get(agent.name);
        if (!entry) {
          entry = newAgentRow(agent.name);
          rows.set(agent.name, entry);
        }
        if (!built.has(agent.name)) updateAgentRow(entry, agent);
        // Keep the server's order, moving only rows that are out of place.
        const atPosition = tbody.children[position];
        if (atPosition !== entry.row) tbody.insertBefore(entry.row, atPosition || null);
        position += 1;
      }
      for (const [name, entry] of rows) {
        if (!seen.has(name)) {
          entry.row.remove();
          rows.delete(name);
        }
      }
      let problem = "";
      if (answer.fleet === "not_installed") {
        problem = "The fleet plugin is not installed on this gateway's machine, so no agents can be listed.";
      } else if (answer.fleet && answer.fleet !== "ok") {
        problem = `Cannot list the agents: ${answer.problem || "fleet ps failed"}`;
      }
      showMessage($("#fleet-problem"), problem);
      $("#usage-problem").hidden = answer.usage !== "unavailable";
      $("#agents-empty").hidden = agents.length > 0 || problem !== "";
      applyFilter();
    }

    async function refresh() {
      try {
        const headers = etag ? { "If-None-Match": etag } : {};
        const response = await api("GET", "/api/agents", { headers });
        if (response.status !== 304) {
          etag = response.headers.get("ETag") || "";
          const answer = await response.json();
          await render(answer, performance.now());
        }
        pageError("");
        const timing = window.mosaicRender;
        if (!timing) {
          // No agents: the empty table is the first render.
          const now = performance.now();
          window.mosaicRender = { startedMs, fetchedMs: now, renderedMs: now, completeMs: now, rows: 0 };
        } else if (timing.completeMs === null) {
          void tbody.offsetHeight;
          timing.completeMs = performance.now();
          timing.rows = rows.size;
        }
        // "Ready" means the whole page, the navigation of the session included.
        await session.catch(() => {});
        markRendered();
      } catch (failure) {
        if (failure.status !== 401) pageError(`Not up to date: ${failure.message} Retrying…`);
      }
    }

    // The agents are asked for at once, next to the session: one round trip less.
    const session = loadSession();
    poll(refresh);
    session.catch((failure) => failure.status !== 401 && pageError(failure.message));
  }

  // ---- One agent -----------------------------------------------------------

  function agentPage() {
    const prefix = "/agents/";
    let name;
    try {
      name = decodeURIComponent(location.pathname.slice(prefix.length));
    } catch (error) {
      name = location.pathname.slice(prefix.length);
    }
    document.title = `${name} · Mosaic`;
    setText($("#agent-name"), name);
    const url = prefix + encodeURIComponent(name);
    let lastActivity = "";
    let lastPane = "";
    let etag = "";

    function renderFacts(agent) {
      const facts = [
        ["Status", agent.status],
        ["Branch", agent.branch],
        ["Last tool", agent.last_tool],
        ["Activity", agent.activity],
        ["Uptime", duration(agent.uptime_seconds)],
        ["Runtime", agent.runtime],
        ["Tokens today", count(agent.tokens_today)],
        ["Cost today", dollars(agent.cost_usd_today)],
      ];
      const list = $("#agent-facts");
      const nodes = [];
      for (const [label, value] of facts) {
        if (value === null || value === undefined || value === "") continue;
        const item = make("div", "fact");
        item.append(make("dt", "", label), make("dd", "", value));
        nodes.push(item);
      }
      list.replaceChildren(...nodes);
    }

    function renderActivity(entries) {
      const key = JSON.stringify(entries);
      if (key === lastActivity) return;
      lastActivity = key;
      const rows = entries.map((entry) => {
        const row = make("tr", "activity-row");
        row.dataset.decision = entry.decision || "";
        if (entry.decision === "deny") row.classList.add("denied");
        let decision = "";
        if (entry.decision === "deny") decision = "✕ blocked";
        else if (entry.decision === "allow") decision = "✓ allowed";
        const why = [entry.rule, entry.reason].filter(Boolean).join(": ");
        const decisionCell = make("td", "activity-decision", why ? `${decision} (${why})` : decision);
        const time = make("td", "activity-time", clockTime(entry.time_ms));
        time.setAttribute("title", new Date(entry.time_ms).toISOString());
        const event = make("td", "activity-event", [entry.hook, entry.event].filter(Boolean).join(" · "));
        const summary = make("td", "activity-summary", entry.summary || "");
        row.append(time, event, make("td", "activity-tool", entry.tool || ""), summary, decisionCell);
        return row;
      });
      $("#activity tbody").replaceChildren(...rows);
      $("#activity-empty").hidden = entries.length > 0;
    }

    async function refresh() {
      try {
        const headers = etag ? { "If-None-Match": etag } : {};
        const response = await api("GET", "/api" + url, { headers });
        if (response.status !== 304) {
          etag = response.headers.get("ETag") || "";
          const answer = await response.json();
          const agent = answer.agent;
          const badge = $("#agent-state");
          setText(badge, stateText(agent) || agent.status || "");
          badge.dataset.state = agent.state || "";
          showMessage($("#agent-message"), agent.state_message || "");
          renderFacts(agent);
          renderActivity(answer.activity || []);
          const pane = (answer.pane || []).join("\n");
          if (pane !== lastPane) {
            lastPane = pane;
            $("#pane").textContent = pane;
          }
          $("#pane").hidden = pane === "";
          showMessage($("#pane-problem"), answer.pane_problem || "");
        }
        pageError("");
        markRendered();
      } catch (failure) {
        if (failure.status === 404) {
          pageError(`There is no agent named “${name}” on this machine (any more).`);
        } else if (failure.status !== 401) {
          pageError(`Not up to date: ${failure.message} Retrying…`);
        }
      }
    }

    loadSession().then(() => poll(refresh), (failure) => failure.status !== 401 && pageError(failure.message));
  }

  // ---- Usage ---------------------------------------------------------------

  const USAGE_FIELDS = ["requests", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "errors"];

  /** The cells of a usage row: the group, the counts, the cost. */
  function usageCells(row, tag) {
    const cells = [make(tag, "usage-group", row.group)];
    for (const field of USAGE_FIELDS) cells.push(make("td", "num", count(row[field])));
    cells.push(make("td", "num usage-cost", dollars(row.cost_usd)));
    return cells;
  }

  function usagePage() {
    const form = $("#usage-form");
    const since = $("#usage-since");
    const until = $("#usage-until");
    const by = $("#usage-by");
    const params = new URLSearchParams(location.search);
    const today = new Date();
    const monthAgo = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 29);
    since.value = params.get("since") || isoDay(monthAgo);
    until.value = params.get("until") || isoDay(today);
    if (["key", "user", "agent", "model", "day"].includes(params.get("by"))) by.value = params.get("by");

    async function show() {
      const range = new URLSearchParams();
      if (since.value) range.set("since", since.value);
      if (until.value) range.set("until", until.value);
      const query = new URLSearchParams(range);
      query.set("by", by.value);
      history.replaceState(null, "", "/usage?" + query.toString());
      try {
        const response = await api("GET", "/api/usage?" + query.toString());
        const report = await response.json();
        $("#usage-chart").setAttribute("src", "/api/usage/chart.svg?" + range.toString());
        setText($("#usage-group-heading"), by.options[by.selectedIndex].text.replace(/^./, (c) => c.toUpperCase()));
        const rows = report.rows.map((row) => {
          const tr = make("tr", "usage-row");
          tr.dataset.group = row.group;
          tr.append(...usageCells(row, "th"));
          tr.firstChild.setAttribute("scope", "row");
          return tr;
        });
        $("#usage tbody").replaceChildren(...rows);
        const totalRow = make("tr", "usage-total-row");
        totalRow.append(...usageCells({ ...report.total, group: "Total" }, "th"));
        $("#usage tfoot").replaceChildren(totalRow);
        const total = report.total;
        const tokens =
          total.input_tokens + total.output_tokens + total.cache_read_tokens + total.cache_write_tokens;
        setText(
          $("#usage-total"),
          `Total: ${count(total.requests)} requests, ${count(tokens)} tokens, ${dollars(total.cost_usd)}`,
        );
        $("#usage-empty").hidden = report.rows.length > 0;
        pageError("");
        markRendered();
      } catch (failure) {
        if (failure.status !== 401) pageError(failure.message);
      }
    }

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      show();
    });
    loadSession().then(show, (failure) => failure.status !== 401 && pageError(failure.message));
  }

  // ---- Admin pages: shared pieces ------------------------------------------

  /** A button that, clicked, is replaced by a confirm and a cancel button. */
  function confirmingButton(label, confirmLabel, buttonClass, onConfirm) {
    const holder = make("span", "actions");
    const ask = make("button", `${buttonClass} secondary`, label);
    ask.type = "button";
    const confirm = make("button", `${buttonClass}-confirm danger`, confirmLabel);
    confirm.type = "button";
    confirm.hidden = true;
    const cancel = make("button", "secondary", "Cancel");
    cancel.type = "button";
    cancel.hidden = true;
    const toggle = (asking) => {
      ask.hidden = asking;
      confirm.hidden = !asking;
      cancel.hidden = !asking;
      (asking ? confirm : ask).focus();
    };
    ask.addEventListener("click", () => toggle(true));
    cancel.addEventListener("click", () => toggle(false));
    confirm.addEventListener("click", async () => {
      confirm.disabled = true;
      try {
        await onConfirm();
      } finally {
        confirm.disabled = false;
      }
    });
    holder.append(ask, confirm, cancel);
    return holder;
  }

  /** The form's fields, trimmed, the empty ones left out. */
  function formFields(form) {
    const fields = {};
    for (const [name, value] of new FormData(form)) {
      const text = String(value).trim();
      if (text !== "") fields[name] = text;
    }
    return fields;
  }

  /** Wires a create form: `submit(fields)` runs the request; errors go to #form-error. */
  function createForm(form, button, submit) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      setText($("#form-error"), "");
      button.disabled = true;
      try {
        await submit(formFields(form));
        form.reset();
      } catch (failure) {
        if (failure.status !== 401) setText($("#form-error"), failure.message);
      } finally {
        button.disabled = false;
      }
    });
  }

  // ---- Keys ----------------------------------------------------------------

  function keyLimits(key) {
    const limits = key.limits || {};
    const parts = [];
    if (limits.budget_tokens) parts.push(`${count(limits.budget_tokens.tokens)} tokens/${limits.budget_tokens.period}`);
    if (limits.budget_usd_micros_month !== null && limits.budget_usd_micros_month !== undefined) {
      parts.push(`$${(limits.budget_usd_micros_month / 1e6).toFixed(2)}/month`);
    }
    if (limits.rpm) parts.push(`${limits.rpm} req/min`);
    if (limits.tpm) parts.push(`${count(limits.tpm)} tokens/min`);
    if (limits.models && limits.models.length) parts.push(`models: ${limits.models.join(", ")}`);
    return parts.join("; ") || "none";
  }

  function keysPage() {
    async function load() {
      try {
        const response = await api("GET", "/api/keys");
        const keys = (await response.json()).keys || [];
        const rows = keys.map((key) => {
          const row = make("tr");
          row.dataset.key = key.name;
          row.dataset.revoked = String(key.state === "revoked");
          row.classList.toggle("revoked", key.state !== "active");
          const hint = make("td", "key-hint");
          hint.append(make("code", "", `${key.hint}…`));
          const actions = make("td", "key-actions");
          if (key.state !== "revoked") {
            actions.append(
              confirmingButton("Revoke", "Revoke for good", "key-revoke", async () => {
                try {
                  await api("DELETE", "/api/keys/" + encodeURIComponent(key.name));
                  setText($("#form-error"), "");
                  await load();
                } catch (failure) {
                  if (failure.status !== 401) setText($("#form-error"), failure.message);
                }
              }),
            );
          }
          row.append(
            make("th", "key-name", key.name),
            make("td", "key-state", key.state),
            make("td", "key-user", key.user || ""),
            make("td", "key-agent", key.agent || ""),
            hint,
            make("td", "key-limits", keyLimits(key)),
            make("td", "key-expires", dateTime(key.limits && key.limits.expires_at)),
            make("td", "key-created-at", dateTime(key.created_at)),
            actions,
          );
          row.firstChild.setAttribute("scope", "row");
          return row;
        });
        $("#keys tbody").replaceChildren(...rows);
        $("#keys-empty").hidden = keys.length > 0;
        pageError("");
        markRendered();
      } catch (failure) {
        if (failure.status !== 401) pageError(failure.message);
      }
    }

    createForm($("#key-form"), $("#key-create"), async (fields) => {
      if (fields.rpm !== undefined) fields.rpm = Number(fields.rpm);
      const response = await api("POST", "/api/keys", { json: fields });
      const created = await response.json();
      setText($("#key-secret"), created.key);
      setText($("#key-copy-status"), "");
      $("#key-created").hidden = false;
      $("#key-created").scrollIntoView({ block: "nearest" });
      await load();
    });
    $("#key-copy").addEventListener("click", async () => {
      const secret = $("#key-secret");
      try {
        await navigator.clipboard.writeText(secret.textContent);
        setText($("#key-copy-status"), "Copied to the clipboard.");
      } catch (error) {
        // No clipboard access (e.g. plain http on another host): select it instead.
        const range = document.createRange();
        range.selectNodeContents(secret);
        getSelection().removeAllRanges();
        getSelection().addRange(range);
        setText($("#key-copy-status"), "Selected: press Ctrl+C (⌘C) to copy.");
      }
    });
    loadSession().then(load, (failure) => failure.status !== 401 && pageError(failure.message));
  }

  // ---- Users ---------------------------------------------------------------

  function usersPage(me) {
    const status = $("#form-status");
    const report = (text) => {
      setText($("#form-error"), "");
      setText(status, text);
    };
    const fail = (failure) => {
      if (failure.status !== 401) {
        setText(status, "");
        setText($("#form-error"), failure.message);
      }
    };

    function resetControls(user) {
      const holder = make("span", "actions");
      const open = make("button", "user-reset secondary", "Reset password");
      open.type = "button";
      const fieldId = `user-new-password-${user.id}`;
      const label = make("label", "visually-hidden", `New password for ${user.email}`);
      label.setAttribute("for", fieldId);
      const input = make("input", "user-new-password");
      input.id = fieldId;
      input.type = "password";
      input.autocomplete = "new-password";
      input.placeholder = "new password";
      const save = make("button", "user-reset-save", "Save password");
      save.type = "button";
      for (const node of [label, input, save]) node.hidden = true;
      open.addEventListener("click", () => {
        open.hidden = true;
        input.hidden = false;
        save.hidden = false;
        input.focus();
      });
      const submit = async () => {
        save.disabled = true;
        try {
          await api("POST", `/api/users/${encodeURIComponent(user.id)}/password`, {
            json: { password: input.value },
          });
          report(`The password of ${user.email} was reset; their sessions were ended.`);
          input.value = "";
          input.hidden = true;
          save.hidden = true;
          open.hidden = false;
          open.focus();
        } catch (failure) {
          fail(failure);
        } finally {
          save.disabled = false;
        }
      };
      save.addEventListener("click", submit);
      input.addEventListener("keydown", (event) => {
        if (event.key === "Enter") {
          event.preventDefault();
          submit();
        }
      });
      holder.append(open, label, input, save);
      return holder;
    }

    async function load() {
      try {
        const response = await api("GET", "/api/users");
        const users = (await response.json()).users || [];
        const rows = users.map((user) => {
          const row = make("tr");
          row.dataset.userEmail = user.email;
          const actions = make("td", "user-actions");
          actions.append(resetControls(user));
          if (user.id !== me.user.id) {
            actions.append(
              confirmingButton("Delete", "Delete for good", "user-delete", async () => {
                try {
                  await api("DELETE", `/api/users/${encodeURIComponent(user.id)}`);
                  report(`${user.email} was deleted.`);
                  await load();
                } catch (failure) {
                  fail(failure);
                }
              }),
            );
          }
          const name = make("th", "user-name", user.name);
          name.setAttribute("scope", "row");
          const role = make("td", "user-role", user.role);
          if (user.id === me.user.id) role.append(make("span", "muted", " (you)"));
          row.append(name, make("td", "user-email", user.email), role, make("td", "", dateTime(user.created_at)), actions);
          return row;
        });
        $("#users tbody").replaceChildren(...rows);
        pageError("");
        markRendered();
      } catch (failure) {
        if (failure.status !== 401) pageError(failure.message);
      }
    }

    createForm($("#user-form"), $("#user-create"), async (fields) => {
      const response = await api("POST", "/api/users", { json: fields });
      const created = (await response.json()).user;
      report(`${created.email} was created (${created.role}).`);
      await load();
    });
    return load();
  }

  // ---- Start ---------------------------------------------------------------

  switch (page) {
    case "login":
      loginPage();
      break;
    case "agents":
      agentsPage();
      break;
    case "agent":
      agentPage();
      break;
    case "usage":
      usagePage();
      break;
    case "keys":
      keysPage();
      break;
    case "users":
      loadSession().then(usersPage, (failure) => failure.status !== 401 && pageError(failure.message));
      break;
    default:
      markRendered();
  }
})();
