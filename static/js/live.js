/*
 * OPD Queue live updates: one reconnecting websocket helper shared by every page.
 *
 *   const live = OPDLive.connect("/ws/departments/orth/", {
 *     onMessage(msg) { ... },          // every state message, in version order
 *     onStatus(status, lastUpdate) {}, // "connecting" | "live" | "unsure" | "reconnecting" | "offline"
 *   });
 *
 * The server sends the full state on connect and after every change, each with a
 * per-department version that only goes up; an older version is ignored. After
 * PING_EVERY_MS (up to a fifth less, at random) without a push or since its last ping,
 * the page pings with the version it shows. The server answers through the channel
 * layer, so a pong says whether pushes can reach this page ("live"), or that they cannot
 * now ("unsure": Redis is down, say); and if the page's version is behind the
 * database's, the server sends the state again. So a page that missed a push is right
 * again within one ping, and says so when it cannot be sure. A live page that keeps
 * hearing pushes does not ping: each push is the whole state and came by the layer, the
 * news a pong would bring, and thousands of screens' pings are a message each way
 * apiece; an unsure page pings on time whatever it hears. Reconnects back off
 * exponentially with jitter, so a room full of TVs does not hammer a restarting server
 * in lockstep. A page that hears nothing for OFFLINE_AFTER_MS says it is offline and
 * reconnects; one that stays unsure reconnects now and then, to find the layer again.
 */
(function () {
  "use strict";

  const PING_EVERY_MS = 10000;
  const PONG_WITHIN_MS = 5000;
  const OFFLINE_AFTER_MS = 30000;
  const UNSURE_RECONNECT_MS = 30000;
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
    let pongTimer = null;
    let awaitingPong = false; // a ping is out: a state now is likely its answer, not a push
    let pingTimer = null;
    let unsureSince = null;

    function setStatus(next) {
      unsureSince = next === "unsure" ? unsureSince || Date.now() : null;
      if (next !== status) {
        status = next;
        onStatus(status, lastUpdate);
      }
    }

    // The next ping, at a random moment of the last fifth of PING_EVERY_MS from now:
    // every screen of a department hears the same push, and without the spread they
    // would all ping in the same instant when the department goes quiet.
    function schedulePing() {
      clearTimeout(pingTimer);
      pingTimer = setTimeout(ping, PING_EVERY_MS * (0.8 + 0.2 * Math.random()));
    }

    function ping() {
      schedulePing();
      if (!socket || socket.readyState !== WebSocket.OPEN) return;
      send({ type: "ping", version: version });
      clearTimeout(pongTimer);
      awaitingPong = true;
      pongTimer = setTimeout(function () {
        awaitingPong = false;
        setStatus("unsure");
      }, PONG_WITHIN_MS);
      if (unsureSince && Date.now() - unsureSince > UNSURE_RECONNECT_MS) {
        unsureSince = null;
        socket.close(); // onclose schedules a reconnect, which may find the layer again
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
        ping(); // learn at once whether pushes reach us
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
          clearTimeout(pongTimer);
          awaitingPong = false;
          setStatus(message.live ? "live" : "unsure");
          return;
        }
        if (typeof message.version === "number") {
          if (version !== null && message.version < version) {
            return; // an older state overtaken by a newer one
          }
          version = message.version;
        }
        lastUpdate = new Date();
        // A state is news, but only a pong says whether the next change will reach us:
        // a live page puts its next ping off, unless the state may be the answer to its
        // ping (sent straight from the server, not by the layer) or it is unsure.
        if (status !== "unsure") {
          setStatus("live");
          if (!awaitingPong) schedulePing();
        }
        onStatus(status, lastUpdate);
        onMessage(message);
      };
      socket.onclose = function () {
        socket = null;
        clearTimeout(pongTimer);
        awaitingPong = false;
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

    // A socket whose server went silent (a cut link, a machine switched off) cannot finish
    // the closing handshake, and the browser waits up to a minute for it before onclose:
    // leave it to close on its own and reconnect now. A connect that hangs is dropped too.
    function abandon() {
      const old = socket;
      old.onopen = old.onmessage = old.onclose = old.onerror = null;
      socket = null;
      clearTimeout(pongTimer);
      awaitingPong = false;
      old.close();
      scheduleReconnect();
    }

    schedulePing();
    setInterval(function () {
      if (Date.now() - lastHeard > OFFLINE_AFTER_MS) {
        setStatus("offline");
        if (socket) abandon();
      }
    }, 5000);

    open();
    return {
      requestState: function () { send({ type: "state" }); },
      get status() { return status; },
    };
  }

  function interpolateNamed(text, values) {
    if (window.interpolate) return window.interpolate(text, values, true);
    return text.replace(/%\((\w+)\)s/g, function (_m, name) { return values[name]; });
  }

  // A clock time ("09:42" or "09:42:25") in the hospital's time zone, which the page
  // names on <html data-time-zone>: a TV or phone set to another zone must not show
  // another time than the slip and the staff pages.
  function clockTime(date, withSeconds) {
    const options = { hour: "2-digit", minute: "2-digit" };
    if (withSeconds) options.second = "2-digit";
    const zone = document.documentElement.dataset.timeZone;
    try {
      if (zone) return date.toLocaleTimeString([], Object.assign({ timeZone: zone }, options));
    } catch (err) {
      // an unknown zone name: the browser's own clock is the best there is
    }
    return date.toLocaleTimeString([], options);
  }

  // In the page's language, from the JavaScript catalog (English if a page has none).
  const gettext = window.gettext || function (text) { return text; };
  const LABELS = {
    connecting: gettext("Connecting…"),
    live: gettext("Live"),
    unsure: gettext("Not sure this is current · checking"),
    reconnecting: gettext("Reconnecting…"),
    offline: gettext("Offline"),
  };
  const SEVERITY = ["offline", "reconnecting", "unsure", "connecting", "live"];

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
        // Translators: after a live page's connection state: "Live · updated 09:42:10".
        text += " · " + interpolateNamed(gettext("updated %(time)s"), { time: clockTime(lastUpdate, true) });
      }
      const label = el.querySelector("[data-role=text]");
      (label || el).textContent = text;
    };
  }

  window.OPDLive = { connect: connect, statusLight: statusLight, clockTime: clockTime };
})();
