// Token and visit page: the live status for the patient's phone, and "Print slip" where
// no slip page exists (print CSS then shows the slip card alone). On the visit page,
// when the patient is done at one stop and sent on, the page reloads to follow the next
// stop's queue. Position and estimated wait are worked out from each department state as
// it arrives; when the token's own status changes (called, in consultation, done,
// skipped) the page's cards are fetched once from the server, which owns those texts,
// and the phone vibrates on "It's your turn".
//
// The page is in the patient's language (the token's, or ?lang=), which may not be the
// browser's: the page loads the JavaScript catalog of its own language for the words
// written here.
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-action='print']")) window.print();
  });

  const root = document.getElementById("token-page");
  if (!root || !window.OPDLive) return;
  const mine = root.dataset.token;
  const language = root.dataset.language || "en";
  let status = root.dataset.status;
  let room = null;
  const showStatus = OPDLive.statusLight(document.getElementById("live-status"));


  // Where to go in the page's language: the state carries `places` {en, hi, ta} beside
  // the English `place` (older servers send `place` only).
  function placeOf(serving) {
    return (serving.places && serving.places[language]) || serving.place;
  }

  function situation(state) {
    const serving = state.serving.find(function (s) { return s.token === mine; });
    if (serving) return { status: serving.status, room: placeOf(serving) };
    const position = state.queue.indexOf(mine);
    if (position >= 0) return { status: "waiting", ahead: position };
    if ((state.skipped || []).includes(mine)) return { status: "skipped" };
    return { status: "ended" }; // completed or cancelled: the server says which
  }

  // The server-rendered parts that change with the token's status, by id.
  const PARTS = ["token-status", "token-stops", "token-slip"];

  function refreshCard() {
    fetch(window.location.href, { credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        const fresh = new DOMParser().parseFromString(html, "text/html");
        const freshRoot = fresh.getElementById("token-page");
        if (freshRoot && freshRoot.dataset.token !== mine) {
          // The visit moved on to its next stop (another department's queue): load the
          // page afresh, which follows that stop's queue live.
          window.location.reload();
          return;
        }
        const light = document.getElementById("live-status");
        PARTS.forEach(function (id) {
          const part = fresh.getElementById(id);
          const current = document.getElementById(id);
          if (part && current) current.replaceWith(part);
        });
        // The connection light keeps its live state: the fresh one only says "Connecting".
        const placeholder = document.getElementById("live-status");
        if (light && placeholder && placeholder !== light) placeholder.replaceWith(light);
        if (fresh.title) document.title = fresh.title;
        root.dataset.status = status;
      })
      .catch(function () { /* the next change tries again */ });
  }

  function update(state) {
    if (state.date !== root.dataset.serviceDate) return; // a token for another day
    const now = situation(state);
    if (now.status !== status || (now.room && now.room !== room)) {
      const wasCalled = now.status === "called" && status !== "called";
      status = now.status;
      room = now.room || null;
      refreshCard();
      if (wasCalled) {
        document.title = interpolate(gettext("It's your turn — %(place)s"), { place: now.room }, true);
        if (navigator.vibrate) navigator.vibrate([400, 200, 400, 200, 400]);
      }
      return;
    }
    if (now.status === "waiting") {
      showNotices(state.notices || []);
      const perDoctor = state.minutes_per_patient / Math.max(1, state.doctors_on_duty);
      const minutes = Math.round(now.ahead * perDoctor);
      const ahead = document.querySelector('[data-role="ahead"]');
      const label = document.querySelector('[data-role="ahead-label"]');
      const estimate = document.querySelector('[data-role="estimate"]');
      if (ahead) ahead.textContent = now.ahead;
      // Our languages have two plural forms: one, and every other count.
      if (label) {
          label.textContent = ngettext("patient ahead of you", "patients ahead of you", now.ahead);
        }
      if (estimate) {
        estimate.textContent =
          minutes === 0 ? gettext("Soon") : interpolate(gettext("~%(minutes)s min"), { minutes: minutes }, true);
      }
    }
  }

  // While waiting: the department's desks that stepped away, or only the patient's own
  // doctor's when the token is booked with one (data-who, and data-places: the room in
  // English and in the page's language), as the server renders them.
  function showNotices(notices) {
    const box = document.querySelector('[data-role="notices"]');
    if (!box) return;
    const places = (box.dataset.places || "").split("|");
    box.replaceChildren();
    notices
      .filter(function (n) {
        return !box.dataset.who || (n.who === box.dataset.who && places.includes(n.place));
      })
      .forEach(function (n) {
        const p = document.createElement("p");
        p.className = "desk-notice";
        p.textContent = n.who + (n.place ? ", " + n.place : "") + ": " + n.text;
        box.append(p);
      });
  }

  OPDLive.connect("/ws/departments/" + root.dataset.departmentSlug + "/", {
    onMessage: function (message) {
      if (message.type === "state") update(message);
    },
    onStatus: function (state, lastUpdate) {
      showStatus("token", state, lastUpdate);
    },
  });
})();
