// newsalert newsroom console: sign in with an API key, preview while typing, publish, correct and kill items.
// Everything is rendered with textContent (never innerHTML), so headlines cannot inject markup.
"use strict";

const storageKey = "newsalert.apiKey";
const $ = (id) => document.getElementById(id);

function apiKey() { return sessionStorage.getItem(storageKey) || ""; }

async function api(method, path, body, options = {}) {
  const headers = { "Authorization": "Bearer " + apiKey() };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    if (!options.readOnly) headers["Idempotency-Key"] = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random();
  }
  const response = await fetch(path, { method, headers, signal: options.signal, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (_) { /* not JSON */ }
  if (!response.ok) {
    const error = json && json.error ? json.error : { message: response.status + " " + response.statusText };
    const fields = (error.fields || []).map((f) => f.field + ": " + f.problem).join("; ");
    throw new Error(error.message + (fields ? " (" + fields + ")" : ""));
  }
  return json;
}

// --- Keys (admins): create named keys (the secret is shown once), revoke them. ---

async function loadKeys() {
  const me = await api("GET", "/v1/me");
  $("signed-in-as").textContent = me.display_name + " (" + me.role + ")";
  $("keys-panel").hidden = me.role !== "admin";
  if (me.role !== "admin") return;
  const page = await api("GET", "/v1/keys");
  $("keys").replaceChildren(...page.keys.map((key) => {
    const li = element("li");
    li.dataset.keyId = key.id;
    li.dataset.revoked = key.revoked_at ? "true" : "false";
    li.append(element("span", key.display_name || key.label || key.id, "headline"),
      element("span", [key.role, key.id, "created " + clock(key.created_at), key.revoked_at ? "revoked " + clock(key.revoked_at) : null].filter(Boolean).join(" · "), "meta"));
    if (!key.revoked_at) {
      const revoke = element("button", "Revoke", "small danger");
      revoke.type = "button";
      revoke.addEventListener("click", () => revokeKey(key));
      const actions = element("span", undefined, "item-actions");
      actions.append(revoke);
      li.append(actions);
    }
    return li;
  }));
}

async function createKey(event) {
  event.preventDefault();
  $("keys-error").textContent = "";
  try {
    const created = await api("POST", "/v1/keys", { name: $("key-name").value, role: $("key-role").value }, { readOnly: true });
    $("new-key-secret").textContent = created.secret;
    $("new-key").hidden = false;
    $("key-form").reset();
    await loadKeys();
  } catch (error) {
    $("keys-error").textContent = error.message;
  }
}

async function revokeKey(key) {
  if (!confirm("Revoke the key of " + (key.display_name || key.id) + "? It stops working at once.")) return;
  $("keys-error").textContent = "";
  try {
    await api("POST", "/v1/keys/" + encodeURIComponent(key.id) + "/revoke", undefined);
    await loadKeys();
  } catch (error) {
    $("keys-error").textContent = error.message;
  }
}

/** Opens the story named in the address (#story=…), once signed in. */
function openLinkedStory() {
  const match = /^#story=(.+)$/.exec(location.hash);
  if (match && apiKey()) openStory(decodeURIComponent(match[1]));
}

function showSignedIn(signedIn) {
  if (!signedIn) {
    $("keys-panel").hidden = true;
    $("new-key").hidden = true;
    $("new-key-secret").textContent = "";
    $("signed-in-as").textContent = "";
  }
  $("signin-panel").hidden = signedIn;
  $("publish-panel").hidden = !signedIn;
  $("recent-panel").hidden = !signedIn;
  $("held-panel").hidden = !signedIn;
  $("sign-out").hidden = !signedIn;
}

async function signIn(event) {
  event.preventDefault();
  $("signin-error").textContent = "";
  sessionStorage.setItem(storageKey, $("api-key").value.trim());
  try {
    await loadRecent();
    $("api-key").value = "";
    showSignedIn(true);
    openLinkedStory();
    await loadKeys();
  } catch (error) {
    sessionStorage.removeItem(storageKey);
    $("signin-error").textContent = "Sign-in failed: " + error.message;
  }
}

function formEvent() {
  const event = { kind: $("kind").value, headline: $("headline").value };
  if ($("section").value) event.section = $("section").value;
  const regions = Array.from(document.querySelectorAll("input[name=regions]:checked")).map((box) => box.value);
  if (regions.length) event.regions = regions;
  if ($("urgency").value) event.urgency = Number($("urgency").value);
  for (const field of ["summary", "body", "byline"]) {
    if ($(field).value.trim()) event[field] = $(field).value;
  }
  if ($("story-choice").value && !$("corrects").value) event.story_override = $("story-choice").value;
  if ($("publish-at").value && !$("corrects").value) event.publish_at = new Date($("publish-at").value).toISOString();
  return event;
}

// --- Preview while typing: POST /v1/events/preview, debounced, read-only. ---

const previewDelay = 350;
let previewTimer = null;
let previewController = null;
let previewSequence = 0;

function schedulePreview() {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(runPreview, previewDelay);
}

async function runPreview() {
  const sequence = ++previewSequence;
  if (previewController) previewController.abort();
  $("preview-error").textContent = "";
  if ($("corrects").value) {
    $("preview-result").hidden = true;
    $("preview-status").textContent = "A correction joins the story of the item it corrects and goes to everyone who got it.";
    return;
  }
  if (!$("headline").value.trim()) {
    $("preview-result").hidden = true;
    $("preview-status").textContent = "Type a headline to see what newsalert makes of it.";
    return;
  }
  previewController = new AbortController();
  $("preview-status").textContent = "Previewing…";
  try {
    const preview = await api("POST", "/v1/events/preview", formEvent(), { readOnly: true, signal: previewController.signal });
    if (sequence !== previewSequence) return;
    renderPreview(preview);
    $("preview-status").textContent = "Preview of “" + preview.event.headline + "”";
  } catch (error) {
    if (error.name === "AbortError" || sequence !== previewSequence) return;
    $("preview-result").hidden = true;
    $("preview-status").textContent = "";
    $("preview-error").textContent = "Preview: " + error.message;
  }
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function renderPreview(preview) {
  const dedup = preview.dedup;
  const verdict = $("preview-dedup");
  verdict.dataset.decision = dedup.decision;
  verdict.dataset.storyId = dedup.story_id || "";
  verdict.className = dedup.decision === "update" ? "verdict-update" : "";
  if (dedup.decision === "update") {
    verdict.textContent = "update of " + dedup.story_id + " (similarity " + dedup.similarity.toFixed(2) + ")" +
      (dedup.new_information.length ? "; new: " + dedup.new_information.join(", ") : "; adds nothing new: not sent again to those who have the story") +
      " — " + dedup.because;
    offerStory(dedup.story_id, dedup.story_lines[0] ? dedup.story_lines[0].headline : dedup.story_id);
  } else if (dedup.decision === "duplicate") {
    verdict.textContent = "exact duplicate of " + dedup.duplicate_of + (dedup.story_id ? " in " + dedup.story_id : "") + ": it would be dropped — " + dedup.because;
  } else {
    verdict.textContent = "new story — " + dedup.because;
  }
  $("preview-story-lines").replaceChildren(...dedup.story_lines.map((line) => {
    const item = element("li", "earlier: " + line.headline);
    item.dataset.eventId = line.event_id;
    return item;
  }));

  const enrichment = preview.enrichment;
  const why = (field) => enrichment.reasons.filter((reason) => reason.field === field).map((reason) => reason.value + ": " + reason.because).join("; ");
  const rows = [
    ["section", "Section", enrichment.section],
    ["regions", "Regions", enrichment.regions.join(", ") || "none"],
    ["countries", "Countries", enrichment.countries.join(", ") || "none"],
    ["entities", "Entities", enrichment.entities.map((entity) => entity.name).join(", ") || "none"],
    ["urgency", "Urgency", String(enrichment.urgency) + (enrichment.urgency === 1 ? " (FLASH)" : "")],
  ];
  $("preview-tags").replaceChildren(...rows.flatMap(([field, label, value]) => {
    const term = element("dt", label);
    const definition = element("dd");
    definition.id = "preview-" + field;
    definition.append(element("span", value, "value"));
    const reasons = why(field);
    if (reasons) definition.append(element("span", reasons, "why"));
    return [term, definition];
  }));

  const audience = preview.audience;
  const summary = $("preview-audience");
  summary.dataset.subscribersNow = audience.subscribers_now;
  summary.dataset.channelsNow = audience.channels_now;
  summary.textContent = audience.subscribers_now + " subscriber(s) on " + audience.channels_now + " channel(s) now; " +
    audience.total.held_quiet_hours + " held for quiet hours, " + audience.total.held_digest + " for digests, " +
    audience.total.dropped_budget + " over budget" + (audience.drop_reasons.length ? " (" + audience.drop_reasons.join("; ") + ")" : "");
  $("preview-channels").tBodies[0].replaceChildren(...["webhook", "email", "ticker"].map((channel) => {
    const counts = audience.by_channel[channel];
    const row = element("tr");
    row.dataset.channel = channel;
    row.append(element("th", channel), element("td", String(counts.now)), element("td", String(counts.held_quiet_hours)),
      element("td", String(counts.held_digest)), element("td", String(counts.dropped_budget)));
    row.firstChild.scope = "row";
    return row;
  }));
  $("preview-ticker").textContent = audience.ticker_readers + " ticker reader(s) connected";
  $("preview-hold").textContent = preview.hold ? "Held back: " + preview.hold.because : "";
  $("preview-hold").dataset.state = preview.hold ? preview.hold.state : "";
  $("preview-ticker").dataset.readers = audience.ticker_readers;
  $("preview-result").hidden = false;
}

/** Adds "Update of …" for a story to the story choice, once. */
function offerStory(storyID, headline) {
  if (!storyID) return;
  const choice = $("story-choice");
  if (Array.from(choice.options).some((option) => option.value === storyID)) return;
  const option = element("option", "Update of " + storyID + ": " + headline);
  option.value = storyID;
  choice.append(option);
}

async function publish(event) {
  event.preventDefault();
  $("publish-error").textContent = "";
  $("publish-status").textContent = "Publishing…";
  const corrects = $("corrects").value;
  try {
    const path = corrects ? "/v1/events/" + encodeURIComponent(corrects) + "/corrections" : "/v1/events";
    const accepted = await api("POST", path, formEvent());
    if (accepted.status === "pending_approval") {
      $("publish-status").textContent = "FLASH " + accepted.id + " held: waiting for a second editor to approve it (until " + clock(accepted.expires_at) + ")";
    } else if (accepted.status === "scheduled") {
      $("publish-status").textContent = "Embargoed " + accepted.id + " until " + clock(accepted.publish_at);
    } else {
      $("publish-status").textContent = (corrects ? "Correction " : "Published ") + accepted.id + " (partition " + accepted.partition + ", offset " + accepted.offset + ")";
    }
    $("publish-form").reset();
    endCorrection();
    schedulePreview();
    await loadRecent();
  } catch (error) {
    $("publish-status").textContent = "";
    $("publish-error").textContent = error.message;
  }
}

function startCorrection(item) {
  $("corrects").value = item.event.id;
  $("form-title").textContent = "Correct: " + item.event.headline;
  $("kind").value = item.event.kind;
  $("headline").value = item.event.headline;
  $("section").value = item.event.section || "";
  for (const box of document.querySelectorAll("input[name=regions]")) box.checked = (item.event.regions || []).includes(box.value);
  $("urgency").value = item.event.urgency || "";
  $("cancel-correction").hidden = false;
  $("headline").focus();
  schedulePreview();
}

function endCorrection() {
  $("corrects").value = "";
  $("form-title").textContent = "Post an item";
  $("cancel-correction").hidden = true;
}

async function kill(item) {
  const reason = prompt("Why is this item killed?", "");
  if (!reason) return;
  try {
    await api("POST", "/v1/events/" + encodeURIComponent(item.event.id) + "/kill", { reason });
    await loadRecent();
  } catch (error) {
    $("publish-error").textContent = error.message;
  }
}

function renderItem(item) {
  const li = document.createElement("li");
  li.dataset.eventId = item.event.id;
  const canceled = item.event.status === "canceled";
  if (item.killed || canceled) li.classList.add("killed");
  const headline = document.createElement("span");
  headline.className = "headline";
  headline.textContent = item.event.headline;
  const meta = document.createElement("span");
  meta.className = "meta";
  const parts = [item.event.kind, item.event.section, (item.event.regions || []).join(", "),
    item.event.urgency ? "urgency " + item.event.urgency : null,
    canceled ? "KILL of " + item.event.supersedes : null,
    !canceled && item.event.supersedes ? "corrects " + item.event.supersedes : null,
    item.killed ? "killed" : null,
    item.corrections.length ? item.corrections.length + " correction(s)" : null,
    item.story_id ? "story " + item.story_id : null,
    "alerts " + item.alerts_delivered + channelBreakdown(item.alerts_by_channel), item.event.id];
  meta.textContent = parts.filter(Boolean).join(" · ");
  li.append(headline, meta);
  if (isFlash(item)) li.append(progressBar(item.progress));
  if (!item.killed && !canceled) {
    const actions = document.createElement("span");
    actions.className = "item-actions";
    const correct = document.createElement("button");
    correct.type = "button"; correct.className = "small"; correct.textContent = "Correct";
    correct.addEventListener("click", () => startCorrection(item));
    const killButton = document.createElement("button");
    killButton.type = "button"; killButton.className = "small danger"; killButton.textContent = "Kill";
    killButton.addEventListener("click", () => kill(item));
    actions.append(correct, killButton);
    li.append(actions);
  }
  if (item.story_id) {
    const story = document.createElement("button");
    story.type = "button"; story.className = "small"; story.textContent = "Story timeline";
    story.dataset.storyId = item.story_id;
    story.addEventListener("click", () => openStory(item.story_id));
    (li.querySelector(".item-actions") || li.appendChild(element("span", undefined, "item-actions"))).append(story);
  }
  return li;
}

// --- Follow what you sent: a FLASH's progress, a story's timeline. ---

function isFlash(item) {
  return item.event.urgency === 1 || (item.enrichment && item.enrichment.urgency === 1);
}

function progressBar(progress) {
  const box = element("div", undefined, "progress");
  const bar = document.createElement("progress");
  bar.max = Math.max(progress.on_topics, 1);
  bar.value = progress.delivered;
  bar.setAttribute("aria-label", "alerts delivered");
  const text = element("span", !progress.fanned_out ? "FLASH: waiting for fan-out" :
    "planned " + progress.planned + " · on the channel topics " + progress.on_topics + " · delivered " + progress.delivered +
    "/" + progress.on_topics + " · failed " + progress.failed + (progress.retrying ? " · retrying " + progress.retrying : "") +
    (progress.held ? " · held " + progress.held : ""), "meta");
  text.dataset.role = "progress";
  box.dataset.planned = progress.planned;
  box.dataset.onTopics = progress.on_topics;
  box.dataset.delivered = progress.delivered;
  box.dataset.failed = progress.failed;
  box.append(bar, text);
  return box;
}

function channelStates(progress) {
  return Object.entries(progress.by_channel || {}).sort(([a], [b]) => a.localeCompare(b)).map(([channel, states]) =>
    channel + ": " + Object.entries(states).sort(([a], [b]) => a.localeCompare(b)).map(([state, count]) => count + " " + state).join(", ")).join(" · ");
}

let openStoryID = "";

async function openStory(storyID) {
  openStoryID = storyID;
  // The timeline has an address of its own: /newsroom#story=story-evt_… opens it after sign-in.
  if (location.hash !== "#story=" + storyID) history.replaceState(null, "", "#story=" + encodeURIComponent(storyID));
  $("story-panel").hidden = false;
  $("story-title").firstChild.textContent = "Story " + storyID + " ";
  await loadStory();
  $("story-panel").scrollIntoView({ block: "nearest" });
}

async function loadStory() {
  if (!openStoryID) return;
  try {
    const story = await api("GET", "/v1/stories/" + encodeURIComponent(openStoryID));
    $("story-timeline").replaceChildren(...story.events.map((item) => {
      const li = element("li");
      li.dataset.eventId = item.event.id;
      const canceled = item.event.status === "canceled";
      if (item.killed || canceled) li.classList.add("killed");
      const relation = canceled ? "KILL of " + item.event.supersedes + (item.event.reason ? ": " + item.event.reason : "")
        : item.event.supersedes ? "correction of " + item.event.supersedes : (item.dedup || "not threaded yet");
      li.append(element("span", item.event.headline, "headline"),
        element("span", [relation, clock(item.received_at), item.killed ? "killed" : null,
          item.corrections.length ? item.corrections.length + " correction(s)" : null].filter(Boolean).join(" · "), "meta"));
      const alerts = element("span", "alerts " + item.alerts_delivered + " delivered" + (channelStates(item.progress) ? " — " + channelStates(item.progress) : ""), "meta");
      alerts.dataset.role = "alerts";
      li.append(alerts);
      return li;
    }));
    $("story-status").textContent = story.events.length + " event(s), updated " + new Date().toLocaleTimeString();
  } catch (error) {
    $("story-status").textContent = error.message;
  }
}

// --- Held back: FLASH approval by a second editor, embargoes with a countdown. ---

function clock(iso) {
  return new Date(iso).toLocaleString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", day: "numeric", month: "short" });
}

/** "1:05:09", "4:02", "0:07" until `iso`; "now" once it is past. */
function countdown(iso) {
  const seconds = Math.round((new Date(iso).getTime() - Date.now()) / 1000);
  if (seconds <= 0) return "now";
  const h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
  return (h ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" + String(s).padStart(2, "0");
}

function heldWhen(held) {
  if (held.state === "pending_approval") {
    return (held.requested_by_you ? "waiting for a second editor" : "needs your approval") + " · expires in " + countdown(held.expires_at);
  }
  if (held.state === "scheduled") {
    return (held.decision === "approved" ? "approved by " + held.decided_by_name + " · " : "") + "publishes in " + countdown(held.publish_at);
  }
  const by = held.decided_by_name ? " by " + held.decided_by_name : "";
  const when = held.decided_at ? " at " + clock(held.decided_at) : "";
  if (held.state === "published") return "published" + (held.decision === "approved" ? " · approved" + by : "") + (held.published_at ? " at " + clock(held.published_at) : "");
  return held.state + by + when + (held.note ? " · " + held.note : "");
}

function renderHeld(held) {
  const li = document.createElement("li");
  li.dataset.eventId = held.event.id;
  li.dataset.state = held.state;
  const headline = element("span", held.event.headline, "headline");
  const meta = element("span", "", "meta");
  const when = element("span", heldWhen(held), "when");
  when.dataset.role = "when";
  meta.append((held.event.urgency === 1 ? "FLASH · " : "") + "posted by " + held.requested_by_name + " · ", when);
  li.append(headline, meta);
  const actions = element("span", undefined, "item-actions");
  const act = (label, action, className) => {
    const button = element("button", label, "small" + (className ? " " + className : ""));
    button.type = "button";
    button.dataset.action = action;
    button.addEventListener("click", () => decide(held, action));
    actions.append(button);
  };
  if (held.state === "pending_approval" && !held.requested_by_you) act("Approve", "approve");
  if (held.state === "pending_approval") act(held.requested_by_you ? "Withdraw" : "Reject", held.requested_by_you ? "cancel" : "reject", "danger");
  if (held.state === "scheduled") act("Cancel", "cancel", "danger");
  if (actions.childElementCount) li.append(actions);
  li.held = held;
  return li;
}

async function decide(held, action) {
  $("held-error").textContent = "";
  try {
    let body;
    if (action !== "approve") {
      const reason = prompt(action === "reject" ? "Why is this FLASH rejected?" : "Why is it canceled? (optional)", "");
      if (reason === null) return;
      body = reason.trim() ? { reason: reason.trim() } : {};
    }
    await api("POST", "/v1/events/" + encodeURIComponent(held.event.id) + "/" + action, body, { readOnly: true });
    await loadHeld();
    await loadRecent();
  } catch (error) {
    $("held-error").textContent = error.message;
  }
}

async function loadHeld() {
  const page = await api("GET", "/v1/held-events?limit=50");
  replaceKeepingFocus($("held"), page.held.map(renderHeld));
  $("held-empty").hidden = page.held.length > 0;
}

function tickCountdowns() {
  for (const item of document.querySelectorAll("#held li")) {
    const when = item.querySelector("[data-role=when]");
    if (when && item.held) when.textContent = heldWhen(item.held);
  }
}

/** Replaces a list's items, keeping the keyboard focus on the same button of the same item. */
function replaceKeepingFocus(list, items) {
  const focused = document.activeElement;
  const item = focused && list.contains(focused) ? focused.closest("li") : null;
  const label = focused ? focused.textContent : "";
  list.replaceChildren(...items);
  if (!item) return;
  const again = Array.from(list.children).find((li) => li.dataset.eventId === item.dataset.eventId);
  const button = again && Array.from(again.querySelectorAll("button")).find((candidate) => candidate.textContent === label);
  if (button) button.focus();
}

async function loadRecent() {
  loadHeld().catch((error) => { $("held-error").textContent = error.message; });
  const page = await api("GET", "/v1/events?limit=50");
  replaceKeepingFocus($("recent"), page.events.map(renderItem));
  for (const item of page.events) {
    if (item.story_id && !item.killed && item.event.status !== "canceled") offerStory(item.story_id, item.event.headline);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("signin-form").addEventListener("submit", signIn);
  $("publish-form").addEventListener("submit", publish);
  $("cancel-correction").addEventListener("click", () => { $("publish-form").reset(); endCorrection(); schedulePreview(); });
  $("publish-form").addEventListener("input", schedulePreview);
  $("publish-form").addEventListener("change", schedulePreview);
  $("refresh").addEventListener("click", () => loadRecent().catch((e) => { $("publish-error").textContent = e.message; }));
  $("sign-out").addEventListener("click", () => { sessionStorage.removeItem(storageKey); showSignedIn(false); });
  $("key-form").addEventListener("submit", createKey);
  // Signed in from an earlier visit of this tab: the key may be dropped meanwhile (signed out), so ask only while it is there.
  if (apiKey()) loadRecent().then(() => { showSignedIn(true); openLinkedStory(); return apiKey() ? loadKeys() : undefined; }).catch(() => showSignedIn(false));
  // Alert counts grow as deliveries are reported: keep the list current while signed in and visible.
  setInterval(() => {
    if (apiKey() && !$("recent-panel").hidden && document.visibilityState === "visible") loadRecent().catch(() => {});
  }, 5000);
  setInterval(tickCountdowns, 1000);
  // A FLASH going out and an open story timeline follow the delivery log every second.
  setInterval(() => {
    if (!apiKey() || document.visibilityState !== "visible") return;
    if (openStoryID && !$("story-panel").hidden) loadStory();
    const flying = Array.from(document.querySelectorAll("#recent .progress")).some((box) =>
      box.querySelector("[data-role=progress]").textContent.startsWith("FLASH: waiting") || Number(box.dataset.delivered) + Number(box.dataset.failed) < Number(box.dataset.onTopics));
    if (flying) loadRecent().catch(() => {});
  }, 1000);
  $("close-story").addEventListener("click", () => {
    openStoryID = "";
    $("story-panel").hidden = true;
    history.replaceState(null, "", location.pathname);
  });
});

/** " (webhook 2, email 1)" for alerts delivered on more than one channel kind; "" otherwise. */
function channelBreakdown(byChannel) {
  const entries = Object.entries(byChannel || {}).sort(([a], [b]) => a.localeCompare(b));
  return entries.length > 1 ? " (" + entries.map(([channel, count]) => channel + " " + count).join(", ") + ")" : "";
}
