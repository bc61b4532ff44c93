// The live BREAKING bar: newest first; an update of a story replaces its line; a kill strikes it out.
// Reconnects by itself and resumes from the last position it saw (the server sends a gap notice if it cannot).
// WebSocket first; when the WebSocket cannot open at all, the same ticker as Server-Sent Events (EventSource).
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

  // One handler for both transports: the frames are the same JSON (`TickerFrame`).
  function handle(frame) {
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
  }

  function live(transport) {
    status.textContent = "live";
    status.dataset.transport = transport;
    retryDelay = 500;
  }

  function retryLater(next) {
    status.textContent = "reconnecting…";
    setTimeout(next, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 10000);
  }

  function query() {
    const query = new URLSearchParams();
    for (const key of ["sections", "regions", "kinds"]) if (filters.get(key)) query.set(key, filters.get(key));
    if (position !== null) { query.set("since", String(position)); query.set("epoch", epoch); }
    return query;
  }

  // Whether a WebSocket ever opened on this page: if one did, a later failure is the server going away (retry the
  // WebSocket); if none did, WebSocket does not get through (a proxy, a firewall) and the event stream is used.
  let webSocketWorked = false;

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}/v1/ticker?${query()}`);
    let opened = false;
    // A proxy that holds the upgrade without answering counts as a failure too.
    const giveUp = setTimeout(() => { if (!opened) socket.close(); }, 8000);
    socket.onopen = () => { opened = true; webSocketWorked = true; clearTimeout(giveUp); live("websocket"); };
    socket.onmessage = (message) => handle(JSON.parse(message.data));
    socket.onclose = () => {
      clearTimeout(giveUp);
      if (!opened && !webSocketWorked) { connectEventStream(); return; }
      retryLater(connect);
    };
  }

  // Server-Sent Events on /v1/ticker/stream: items are `event: item`, gaps `event: gap`, and the server's `event: error`
  // (a client too slow to keep up) ends the stream. EventSource reconnects by itself and resumes with Last-Event-ID
  // (`<epoch>:<position>`); the URL's since/epoch only matter for its first connection.
  function connectEventStream() {
    const source = new EventSource(`/v1/ticker/stream?${query()}`);
    source.onopen = () => live("eventsource");
    for (const type of ["item", "gap"]) source.addEventListener(type, (event) => handle(JSON.parse(event.data)));
    source.addEventListener("error", (event) => {
      if (event.data) { handle(JSON.parse(event.data)); return; }
      if (source.readyState === EventSource.CLOSED) {
        // Refused (a 4xx) or not an event stream: start over, WebSocket first.
        retryLater(connect);
      } else {
        status.textContent = "reconnecting…";
      }
    });
  }

  connect();
})();
