// newsalert newsroom console: sign in with an API key, publish, correct and kill items.
// Everything is rendered with textContent (never innerHTML), so headlines cannot inject markup.
"use strict";

const storageKey = "newsalert.apiKey";
const $ = (id) => document.getElementById(id);

function apiKey() { return sessionStorage.getItem(storageKey) || ""; }

async function api(method, path, body) {
  const headers = { "Authorization": "Bearer " + apiKey() };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    headers["Idempotency-Key"] = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random();
  }
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
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

function showSignedIn(signedIn) {
  $("signin-panel").hidden = signedIn;
  $("publish-panel").hidden = !signedIn;
  $("recent-panel").hidden = !signedIn;
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
  return event;
}

async function publish(event) {
  event.preventDefault();
  $("publish-error").textContent = "";
  $("publish-status").textContent = "Publishing…";
  const corrects = $("corrects").value;
  try {
    const path = corrects ? "/v1/events/" + encodeURIComponent(corrects) + "/corrections" : "/v1/events";
    const accepted = await api("POST", path, formEvent());
    $("publish-status").textContent = (corrects ? "Correction " : "Published ") + accepted.id + " (partition " + accepted.partition + ", offset " + accepted.offset + ")";
    $("publish-form").reset();
    endCorrection();
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
  return li;
}

async function loadRecent() {
  const page = await api("GET", "/v1/events?limit=50");
  $("recent").replaceChildren(...page.events.map(renderItem));
}

document.addEventListener("DOMContentLoaded", () => {
  $("signin-form").addEventListener("submit", signIn);
  $("publish-form").addEventListener("submit", publish);
  $("cancel-correction").addEventListener("click", () => { $("publish-form").reset(); endCorrection(); });
  $("refresh").addEventListener("click", () => loadRecent().catch((e) => { $("publish-error").textContent = e.message; }));
  $("sign-out").addEventListener("click", () => { sessionStorage.removeItem(storageKey); showSignedIn(false); });
  if (apiKey()) loadRecent().then(() => showSignedIn(true)).catch(() => showSignedIn(false));
  // Alert counts grow as deliveries are reported: keep the list current while signed in and visible.
  setInterval(() => {
    if (apiKey() && !$("recent-panel").hidden && document.visibilityState === "visible") loadRecent().catch(() => {});
  }, 5000);
});

/** " (webhook 2, email 1)" for alerts delivered on more than one channel kind; "" otherwise. */
function channelBreakdown(byChannel) {
  const entries = Object.entries(byChannel || {}).sort(([a], [b]) => a.localeCompare(b));
  return entries.length > 1 ? " (" + entries.map(([channel, count]) => channel + " " + count).join(", ") + ")" : "";
}
