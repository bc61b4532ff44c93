// The public signup page: topics from the publication's taxonomy, delivery, quiet hours in the reader's own time
// zone (read from the browser), and the email address to confirm. No build step, nothing loaded from elsewhere.
"use strict";

const $ = (id) => document.getElementById(id);

function checkbox(container, name, value, text) {
  const label = document.createElement("label");
  const input = document.createElement("input");
  input.type = "checkbox";
  input.name = name;
  input.value = value;
  label.append(input, " " + text);
  container.append(label);
}

async function loadTopics() {
  const response = await fetch("/v1/signup/topics");
  if (!response.ok) throw new Error("the topics could not be loaded (" + response.status + ")");
  const topics = await response.json();
  for (const section of topics.sections) checkbox($("sections"), "sections", section, section);
  for (const region of topics.regions) checkbox($("regions"), "regions", region, region);
  for (const country of topics.countries) {
    const option = document.createElement("option");
    option.value = country.code;
    option.textContent = country.name;
    $("countries").append(option);
  }
}

function checked(name) {
  return Array.from(document.querySelectorAll(`input[name="${name}"]:checked`)).map((input) => input.value);
}

function body() {
  const delivery = document.querySelector('input[name="delivery"]:checked').value;
  const request = {
    email: $("email").value.trim(),
    time_zone: $("time-zone").value,
    topics: {
      sections: checked("sections"),
      regions: checked("regions"),
      countries: Array.from($("countries").selectedOptions).map((option) => option.value),
    },
    delivery: delivery === "immediate" ? { mode: "immediate" }
      : delivery === "hourly" ? { mode: "digest", every: "hourly" } : { mode: "digest", every: "daily", at: $("daily-at").value },
    website: $("website").value,
  };
  const keywords = $("keywords").value.trim();
  if (keywords) request.topics.keywords = keywords;
  if ($("quiet").checked) {
    request.quiet_hours = { start: $("quiet-start").value, end: $("quiet-end").value, allow_flash: $("quiet-flash").checked };
  }
  return request;
}

function showErrors(fields) {
  const email = fields.filter((f) => f.field === "email").map((f) => f.problem);
  const topics = fields.filter((f) => f.field.startsWith("topics")).map((f) => f.field.replace(/^topics\.?/, "") + " " + f.problem);
  const other = fields.filter((f) => f.field !== "email" && !f.field.startsWith("topics")).map((f) => f.field + ": " + f.problem);
  $("email-error").hidden = email.length === 0;
  $("email-error").textContent = email.join("; ");
  $("email").setAttribute("aria-invalid", email.length ? "true" : "false");
  $("topics-error").hidden = topics.length === 0;
  $("topics-error").textContent = topics.join("; ");
  $("form-error").hidden = other.length === 0;
  $("form-error").textContent = other.join("; ");
  if (email.length) $("email").focus();
}

async function submit(event) {
  event.preventDefault();
  $("result").textContent = "";
  showErrors([]);
  $("submit").disabled = true;
  try {
    const response = await fetch("/v1/signup", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body()),
    });
    const answer = await response.json().catch(() => ({}));
    if (response.status === 202) {
      $("result").textContent = answer.message;
    } else if (answer.error && answer.error.fields) {
      showErrors(answer.error.fields);
    } else {
      $("form-error").hidden = false;
      $("form-error").textContent = (answer.error && answer.error.message) || "The signup failed (" + response.status + ").";
    }
  } catch (error) {
    $("form-error").hidden = false;
    $("form-error").textContent = "The signup could not be sent: " + error.message;
  } finally {
    $("submit").disabled = false;
  }
}

function init() {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  $("time-zone").value = zone;
  $("zone-shown").textContent = zone;
  for (const radio of document.querySelectorAll('input[name="delivery"]')) {
    radio.addEventListener("change", () => { $("daily-at").disabled = checked("delivery")[0] !== "daily"; });
  }
  $("quiet").addEventListener("change", () => {
    $("quiet-times").hidden = !$("quiet").checked;
    $("quiet-flash-label").hidden = !$("quiet").checked;
  });
  $("signup").addEventListener("submit", submit);
  loadTopics().catch((error) => {
    $("form-error").hidden = false;
    $("form-error").textContent = error.message;
  });
}

init();
