/*
 * OPD Queue live updates: one reconnecting websocket helper shared by every page.
 *
 *   const live = OPDLive.connect("/ws/departments/orth/", {
 *     onMessage(msg) { ... },          // every state message, in version order
 *     onStatus(status, lastUpdate) {}, // "connecting" | "live" | "reconnecting" | "offline"
 *   });
 *
 * The server sends the full state on connect and after every change, each with a
 * per-department version that only goes up, and "since", the version of the message
 * sent before it. Delivery is at most once, so: an older version is ignored; a missed
 * message (since > the version we hold) makes the page ask for the state again, and a
 * reconnect brings the full state anyway. Reconnects back off exponentially with jitter, so a room full of TVs
 * does not hammer a restarting server in lockstep. A page that hears nothing for 45 s
 * (it pings every 20 s) says it is offline and reconnects.
 */
(function () {
  "use strict";

  const PING_EVERY_MS = 20000;
  const OFFLINE_AFTER_MS = 45000;
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 15000;

  function connect(path, handlers) {
    const onMessage = handlers.onMessage || function () {};
    const onStatus = handlers.onStatus || function () {};
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    const url = scheme + window.location.host + path;

    let socket = null;
    let version = null;
    let attempts = 0;
    let lastHeard = Date.now();
    let lastUpdate = null;
    let status = null;
    let reconnectTimer = null;

    function setStatus(next) {
      if (next !== status) {
        status = next;
        onStatus(status, lastUpdate);
      }
    }

    function send(message) {
      if (socket && socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify(message));
      }
    }

    function open() {
      clearTimeout(reconnectTimer);
      setStatus(attempts === 0 ? "connecting" : "reconnecting");
      socket = new WebSocket(url);
      socket.onopen = function () {
        attempts = 0;
        lastHeard = Date.now();
      };
      socket.onmessage = function (event) {
        lastHeard = Date.now();
        let message;
        try {
          message = JSON.parse(event.data);
        } catch (err) {
          return;
        }
        if (message.type === "pong") {
          setStatus("live");
          return;
        }
        if (typeof message.version === "number") {
          if (version !== null && message.version < version) {
            return; // an older state overtaken by a newer one
          }
          // Every message is the full state, and the server folds a rush of changes into
          // one, so versions may jump. "since" names the message sent before this one: if
          // we never saw it, one was lost on the way, and we ask for the state again.
          const missed = typeof message.since === "number" && message.since > version;
          if (version !== null && missed) {
            send({ type: "state" });
          }
          version = message.version;
        }
        lastUpdate = new Date();
        setStatus("live");
        onStatus(status, lastUpdate);
        onMessage(message);
      };
      socket.onclose = function () {
        socket = null;
        scheduleReconnect();
      };
      socket.onerror = function () {
        if (socket) socket.close();
      };
    }

    function scheduleReconnect() {
      clearTimeout(reconnectTimer);
      attempts += 1;
      setStatus(Date.now() - lastHeard > OFFLINE_AFTER_MS ? "offline" : "reconnecting");
      const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(attempts, 10));
      const delay = ceiling / 2 + Math.random() * (ceiling / 2);
      reconnectTimer = setTimeout(open, delay);
    }

    setInterval(function () { send({ type: "ping" }); }, PING_EVERY_MS);
    setInterval(function () {
      if (Date.now() - lastHeard > OFFLINE_AFTER_MS) {
        setStatus("offline");
        if (socket) socket.close(); // onclose schedules a reconnect
      }
    }, 5000);

    open();
    return {
      requestState: function () { send({ type: "state" }); },
      get status() { return status; },
    };
  }

  const LABELS = {
    connecting: "Connecting…",
    live: "Live",
    reconnecting: "Reconnecting…",
    offline: "Offline",
  };
  const SEVERITY = ["offline", "reconnecting", "connecting", "live"];

  // A status light fed by several sockets shows the worst of them.
  function statusLight(el) {
    const statuses = {};
    return function (key, status, lastUpdate) {
      if (!el) return;
      statuses[key] = status;
      const all = Object.values(statuses);
      const worst = SEVERITY.find(function (s) { return all.includes(s); });
      el.dataset.status = worst;
      el.classList.toggle("live", worst === "live");
      el.classList.toggle("offline", worst === "offline");
      let text = LABELS[worst] || worst;
      if (lastUpdate) {
        text += " · updated " + lastUpdate.toLocaleTimeString([], {
          hour: "2-digit", minute: "2-digit", second: "2-digit",
        });
      }
      const label = el.querySelector("[data-role=text]");
      (label || el).textContent = text;
    };
  }

  window.OPDLive = { connect: connect, statusLight: statusLight };
})();
