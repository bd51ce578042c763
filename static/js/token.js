// Token and visit page: the "Print slip" button (print CSS shows the slip alone), and the
// live status for the patient's phone. On the visit page, when the patient is done at one
// stop and sent on, the page reloads to follow the next stop's queue. Position and estimated wait are worked out from each
// department state as it arrives; when the token's own status changes (called, in
// consultation, done, skipped) the status card is fetched once from the server, which
// owns those texts, and the phone vibrates on "It's your turn".
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-action='print']")) window.print();
  });

  const root = document.getElementById("token-page");
  if (!root || !window.OPDLive) return;
  const mine = root.dataset.token;
  let status = root.dataset.status;
  let room = null;
  const showStatus = OPDLive.statusLight(document.getElementById("live-status"));

  function situation(state) {
    const serving = state.serving.find(function (s) { return s.token === mine; });
    if (serving) return { status: serving.status, room: serving.place };
    const position = state.queue.indexOf(mine);
    if (position >= 0) return { status: "waiting", ahead: position };
    if ((state.skipped || []).includes(mine)) return { status: "skipped" };
    return { status: "ended" }; // completed or cancelled: the server says which
  }

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
        const card = fresh.querySelector(".token-status");
        const current = document.querySelector(".token-status");
        if (!card || !current) return;
        const light = current.querySelector("#live-status");
        current.replaceWith(card);
        const placeholder = card.querySelector("#live-status");
        if (light && placeholder) placeholder.replaceWith(light);
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
        document.title = "It's your turn — " + now.room;
        if (navigator.vibrate) navigator.vibrate([400, 200, 400, 200, 400]);
      }
      return;
    }
    if (now.status === "waiting") {
      showNotices(state.notices || []);
      const perDoctor = state.minutes_per_patient / Math.max(1, state.doctors_on_duty);
      const minutes = Math.round(now.ahead * perDoctor);
      const ahead = document.querySelector('[data-role="ahead"]');
      const estimate = document.querySelector('[data-role="estimate"]');
      if (ahead) {
        ahead.textContent = now.ahead;
        const label = ahead.parentElement.querySelector(".stat-label");
        if (label) label.textContent = (now.ahead === 1 ? "patient" : "patients") + " ahead of you";
      }
      if (estimate) estimate.textContent = minutes === 0 ? "Soon" : "~" + minutes + " min";
    }
  }

  // While waiting: the department's desks that stepped away, or only the patient's own
  // doctor's when the token is booked with one (data-who / data-place), as the server
  // renders them.
  function showNotices(notices) {
    const box = document.querySelector('[data-role="notices"]');
    if (!box) return;
    box.replaceChildren();
    notices
      .filter(function (n) {
        return !box.dataset.who || (n.who === box.dataset.who && n.place === box.dataset.place);
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
