// The live BREAKING bar: newest first; an update of a story replaces its line; a kill strikes it out.
// Reconnects by itself and resumes from the last position it saw (the server sends a gap notice if it cannot).
"use strict";
(function () {
  const list = document.getElementById("ticker");
  const status = document.getElementById("ticker-status");
  const gapNotice = document.getElementById("ticker-gap");
  const empty = document.getElementById("ticker-empty");
  const filters = new URLSearchParams(location.search);
  let position = null;
  let epoch = null;
  let retryDelay = 500;

  function lineFor(storyID) {
    return list.querySelector(`li[data-story="${CSS.escape(storyID)}"]`);
  }

  function show(frame) {
    const storyID = frame.story.story_id;
    let line = lineFor(storyID);
    if (!line) {
      line = document.createElement("li");
      line.dataset.story = storyID;
      const time = document.createElement("time");
      const headline = document.createElement("span");
      headline.className = "headline";
      line.append(time, headline);
    } else {
      line.remove();
    }
    const published = new Date(frame.event.published_at);
    line.querySelector("time").textContent = published.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    line.querySelector("time").dateTime = frame.event.published_at;
    line.dataset.type = frame.type;
    line.dataset.event = frame.event.id;
    if (frame.type === "retraction") {
      line.classList.add("killed");
    } else {
      line.classList.remove("killed");
      line.querySelector(".headline").textContent = frame.event.headline;
    }
    list.prepend(line);
    empty.hidden = true;
  }

  function connect() {
    const query = new URLSearchParams();
    for (const key of ["sections", "regions", "kinds"]) if (filters.get(key)) query.set(key, filters.get(key));
    if (position !== null) { query.set("since", String(position)); query.set("epoch", epoch); }
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}/v1/ticker?${query}`);
    socket.onopen = () => { status.textContent = "live"; retryDelay = 500; };
    socket.onmessage = (message) => {
      const frame = JSON.parse(message.data);
      if (frame.type === "heartbeat") return;
      if (frame.type === "error") { status.textContent = frame.message; return; }
      if (frame.type === "gap") {
        gapNotice.textContent = `Some items could not be replayed (${frame.reason}).`;
        gapNotice.hidden = false;
        epoch = frame.epoch;
        position = frame.from - 1;
        return;
      }
      epoch = frame.epoch;
      position = frame.position;
      show(frame);
    };
    socket.onclose = () => {
      status.textContent = "reconnecting…";
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 10000);
    };
  }

  connect();
})();
