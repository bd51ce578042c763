// A staff terminal (the doctor's /doctor/ and a counter's /counter/): running timers,
// and the live panel. Each <time data-since="ISO"> counts up every second from its
// timestamp on the local clock. The panel (current patient, waiting list, skipped,
// figures) shows the department as of its data-version. The socket the panel names
// (data-socket: /ws/doctor/ or /ws/counter/) says the department's version on connect
// and whenever its queue changes; a newer one than shown fetches the panel again
// (data-panel-url), one fetch at a time, so new patients appear at once; unless the
// socket also says the panel's key (data-panel-key) is still the one on screen. A key is
// "<queue>.<desk>" (queues.versions): when only its queue part moved on, the lists alone
// are fetched (data-lists-url), the same for every counter of the department. A button
// press is sent by this script too, and answered with the panel and the message.
(function () {
  "use strict";

  function pad(n) {
    return n < 10 ? "0" + n : String(n);
  }

  function clock(seconds) {
    var h = Math.floor(seconds / 3600);
    var m = Math.floor((seconds % 3600) / 60);
    var s = seconds % 60;
    return h ? h + ":" + pad(m) + ":" + pad(s) : m + ":" + pad(s);
  }

  // Words from Django's JavaScript catalog (base.html loads it), in the terminal's
  // language; English if the catalog did not load. (Called as gettext(): makemessages
  // finds the strings by that name.)
  var gettext = window.gettext || function (text) { return text; };
  function fill(format, values) {
    return format.replace(/%\((\w+)\)s/g, function (_, name) { return String(values[name]); });
  }

  function minutes(seconds) {
    var total = Math.floor(seconds / 60);
    if (total < 1) return gettext("under 1 min");
    if (total < 60) return fill(gettext("%(minutes)s min"), { minutes: total });
    return fill(gettext("%(hours)s h %(minutes)s min"), {
      hours: Math.floor(total / 60),
      minutes: pad(total % 60),
    });
  }

  function tick() {
    var now = Date.now();
    // Queried each tick: the live panel replaces the elements.
    document.querySelectorAll("[data-since]").forEach(function (el) {
      var since = Date.parse(el.dataset.since);
      if (isNaN(since)) return;
      var seconds = Math.max(0, Math.floor((now - since) / 1000));
      el.textContent = el.dataset.format === "minutes" ? minutes(seconds) : clock(seconds);
    });
  }

  tick();
  setInterval(tick, 1000);

  var panel = document.querySelector("[data-live-panel]");
  if (!panel || !window.OPDLive) return;
  var kind = panel.dataset.messageType;
  var showStatus = OPDLive.statusLight(document.getElementById("live-status"));
  var RETRY_MS = 3000;
  var shown = Number(panel.dataset.version) || 0; // the version the panel on screen shows
  var shownKey = panel.dataset.panelKey || ""; // and what it was read at (queues.versions)
  var announced = shown; // the newest version the socket has said
  var announcedKey = null; // this panel's key at that version, when the socket said it
  var fetching = false;
  var wantWhole = false; // the lists came back with the desk's part moved on meanwhile
  var retry = null;

  function deskPart(key) {
    return key.slice(key.indexOf(".") + 1);
  }

  // Don't pull a button out from under a click in progress, nor a half-filled "Send on"
  // form from under the hands filling it.
  function busy() {
    return Boolean(
      panel.querySelector("form[data-submitting], form[data-editing], details[data-editing]")
    );
  }

  function showLists(message) {
    var lists = panel.querySelector("[data-panel-lists]");
    var note = panel.querySelector("[data-queue-note]");
    if (lists) lists.innerHTML = message.html;
    if (note) note.innerHTML = message.note;
  }

  // A fetched or pressed panel (or its lists alone) on screen, at its version and key.
  function show(message, listsOnly) {
    if (listsOnly) showLists(message);
    else panel.innerHTML = message.html;
    wantWhole = false;
    shown = message.version;
    shownKey = message.key;
    panel.dataset.version = String(shown);
    panel.dataset.panelKey = shownKey;
    tick();
  }

  function refresh() {
    if (fetching || (announced <= shown && !wantWhole)) return;
    // The department moved on, but not this panel (another desk started or completed a
    // consultation): what is on screen is that version's panel already.
    if (announcedKey !== null && announcedKey === shownKey && !wantWhole) {
      shown = announced;
      panel.dataset.version = String(shown);
      return;
    }
    if (busy()) return;
    var listsOnly =
      !wantWhole && announcedKey !== null && deskPart(announcedKey) === deskPart(shownKey);
    fetching = true;
    clearTimeout(retry);
    fetch(listsOnly ? panel.dataset.listsUrl : panel.dataset.panelUrl, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        // Signed out (left idle, or by another tab): the page itself asks to sign in.
        if (response.redirected || response.status === 403) {
          window.location.reload();
          throw new Error("signed out");
        }
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (message) {
        fetching = false;
        if (message.version >= shown && !busy()) {
          if (listsOnly && deskPart(message.key) !== deskPart(shownKey)) {
            wantWhole = true; // the desk's own part changed too: fetch it all
          } else {
            show(message, listsOnly);
          }
        }
        refresh(); // news that came while this one was on its way
      })
      .catch(function () {
        fetching = false;
        retry = setTimeout(refresh, RETRY_MS);
      });
  }

  OPDLive.connect(panel.dataset.socket, {
    onMessage: function (message) {
      if (message.type !== kind || typeof message.version !== "number") return;
      if (message.version >= announced) {
        announced = message.version;
        announcedKey = typeof message.key === "string" ? message.key : null;
      }
      refresh();
    },
    onStatus: function (status, lastUpdate) {
      showStatus(kind, status, lastUpdate);
    },
  });
  // The service's messages, where a page load puts them (base.html), in its live region.
  function showMessages(list) {
    var main = document.getElementById("main") || document.body;
    var box = main.querySelector(".messages");
    var fill = function () {
      box.textContent = "";
      list.forEach(function (item) {
        var line = document.createElement("li");
        line.className = "message message-" + item.tags;
        line.textContent = item.text;
        box.appendChild(line);
      });
    };
    if (box) return fill();
    box = document.createElement("ul");
    box.className = "messages";
    box.setAttribute("role", "status");
    box.setAttribute("aria-live", "polite");
    main.insertBefore(box, main.firstChild);
    // A screen reader announces a change to a live region it already knows, not a new
    // region arriving with its words: the words come a moment after it.
    setTimeout(fill, 100);
  }

  // A button press is sent by this script, asking for JSON: the answer is the panel as it
  // is now, with the service's message, put in place without loading the page (the
  // socket stays open). Anything else (signed out, a refused or lost request) loads the
  // page again, which shows what happened.
  var pressing = false;
  panel.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    if (form.method !== "post" || !window.fetch || !window.FormData) {
      form.dataset.submitting = "1";
      return;
    }
    event.preventDefault();
    if (pressing) return; // a double click: the first press is on its way
    pressing = true;
    form.dataset.submitting = "1";
    var body = new FormData(form);
    if (button && button.name) body.append(button.name, button.value);
    var action = button && button.hasAttribute("formaction") ? button.formAction : form.action;
    fetch(action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (!response.ok || response.redirected || type.indexOf("application/json") !== 0) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (message) {
        pressing = false;
        show(message, false);
        showMessages(message.messages || []);
        refresh(); // news that came while the press was on its way
      })
      .catch(function () {
        window.location.reload();
      });
  });
  // Choosing next stops or typing a note marks its form as being edited: the panel waits
  // until it is submitted (a page load brings the current panel anyway).
  function editing(event) {
    var form = event.target.form;
    if (form && event.target.value) form.dataset.editing = "1";
  }
  // An opened "Pause or start late" box stays open: the panel waits until it is closed,
  // and then catches up.
  panel.addEventListener(
    "toggle",
    function (event) {
      var box = event.target;
      if (box.tagName !== "DETAILS") return;
      if (box.open) box.dataset.editing = "1";
      else {
        delete box.dataset.editing;
        refresh();
      }
    },
    true
  );
  panel.addEventListener("change", editing);
  panel.addEventListener("input", editing);
})();
