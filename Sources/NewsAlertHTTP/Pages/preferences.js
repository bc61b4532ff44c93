// The preference centre: the signed link's query (subscriber, expires, token) authorises every call.
"use strict";

const $ = (id) => document.getElementById(id);
const link = window.location.search;

async function call(method, path, body) {
  const response = await fetch(path + link, {
    method, headers: body ? { "Content-Type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined,
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error((answer.error && answer.error.message) || "failed (" + response.status + ")");
  return answer;
}

function checkbox(container, name, value, on) {
  const label = document.createElement("label");
  const input = document.createElement("input");
  input.type = "checkbox";
  input.name = name;
  input.value = value;
  input.checked = on;
  label.append(input, " " + value);
  container.append(label);
}

function show(view) {
  $("emails").textContent = view.emails.join(", ") || "no address";
  $("paused").textContent = view.paused_until ? "Paused until " + new Date(view.paused_until).toLocaleString() : "";
  const mode = !view.delivery || view.delivery.mode === "immediate" ? "immediate" : view.delivery.every;
  for (const radio of document.querySelectorAll('input[name="delivery"]')) radio.checked = radio.value === mode;
  $("keywords").value = view.topics.keywords.join(" OR ");
  for (const name of ["sections", "regions"]) {
    for (const input of document.querySelectorAll(`input[name="${name}"]`)) input.checked = view.topics[name].includes(input.value);
  }
  const list = $("recent-alerts");
  list.replaceChildren();
  for (const alert of view.recent_alerts) {
    const item = document.createElement("li");
    item.textContent = alert.headline + " — " + alert.state;
    list.append(item);
  }
  window.currentView = view;
}

function chosen(name) {
  return Array.from(document.querySelectorAll(`input[name="${name}"]:checked`)).map((input) => input.value);
}

async function save(event) {
  event.preventDefault();
  $("saved").textContent = "";
  $("save-error").hidden = true;
  const mode = chosen("delivery")[0] || "immediate";
  const topics = { sections: chosen("sections"), regions: chosen("regions"), countries: window.currentView.topics.countries };
  if ($("keywords").value.trim()) topics.keywords = $("keywords").value.trim();
  try {
    show(await call("PUT", "/v1/preferences", {
      time_zone: window.currentView.time_zone, topics, quiet_hours: window.currentView.quiet_hours || null,
      delivery: mode === "immediate" ? { mode } : mode === "hourly" ? { mode: "digest", every: "hourly" } : { mode: "digest", every: "daily", at: "08:00" },
    }));
    $("saved").textContent = "Saved.";
  } catch (error) {
    $("save-error").hidden = false;
    $("save-error").textContent = error.message;
  }
}

async function init() {
  try {
    const topics = await (await fetch("/v1/signup/topics")).json();
    const view = await call("GET", "/v1/preferences");
    for (const section of topics.sections) checkbox($("sections"), "sections", section, false);
    for (const region of topics.regions) checkbox($("regions"), "regions", region, false);
    show(view);
    for (const id of ["prefs", "pause-panel", "recent-panel", "data-panel"]) $(id).hidden = false;
  } catch (error) {
    $("load-error").hidden = false;
    $("load-error").textContent = error.message;
    return;
  }
  $("export").href = "/v1/preferences/export" + link;
  $("choices").addEventListener("submit", save);
  for (const button of document.querySelectorAll("[data-days]")) {
    button.addEventListener("click", async () => show(await call("POST", "/v1/preferences/pause", { days: Number(button.dataset.days) })));
  }
  $("erase-sure").addEventListener("change", () => { $("erase").disabled = !$("erase-sure").checked; });
  $("erase").addEventListener("click", async () => {
    await call("POST", "/v1/preferences/erase");
    for (const id of ["prefs", "pause-panel", "recent-panel"]) $(id).hidden = true;
    $("erase").disabled = true;
    $("erased").textContent = "Everything about you was deleted. No more alerts will be sent.";
  });
}

init();
