/*
 * The reception's live queue. One public socket per department shown (OPDLive.connect);
 * when a department's state moves on, the table is fetched again from the server
 * (?fragment=1), at most once a second. While the desk is typing a reason in an open
 * form, the table is left alone and a button offers the latest instead.
 */
(function () {
  "use strict";

  const box = document.getElementById("queue-table");
  const statusBox = document.getElementById("queue-live");
  const refreshButton = document.getElementById("queue-refresh");
  if (!box) return;
  const slugs = (box.dataset.departments || "").split(" ").filter(Boolean);
  const url = box.dataset.fragmentUrl;
  const THROTTLE_MS = 1000;

  let lastFetch = 0;
  let timer = null;
  let inFlight = false;
  let pending = false;

  function busy() {
    // An open action or a focused field: replacing the table would lose what is typed.
    const active = document.activeElement;
    return Boolean(box.querySelector("details[open]")) || (active && box.contains(active) &&
      active.matches("input, select, textarea"));
  }

  function refresh(force) {
    if (!force && busy()) {
      pending = true;
      refreshButton.hidden = false;
      return;
    }
    const wait = lastFetch + THROTTLE_MS - Date.now();
    if (wait > 0 || inFlight) {
      clearTimeout(timer);
      timer = setTimeout(function () { refresh(force); }, Math.max(wait, 200));
      return;
    }
    lastFetch = Date.now();
    inFlight = true;
    pending = false;
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        box.innerHTML = html;
        refreshButton.hidden = true;
        box.dataset.refreshedAt = String(Date.now());
      })
      .catch(function () {
        pending = true;
        refreshButton.hidden = false;
      })
      .finally(function () { inFlight = false; });
  }

  refreshButton.addEventListener("click", function () { refresh(true); });
  // Closing an action's form lets a postponed refresh through.
  box.addEventListener("toggle", function () { if (pending && !busy()) refresh(false); }, true);

  // The version of each department the table was rendered at ("orth:12 card:3").
  const versions = {};
  (box.dataset.versions || "").split(" ").filter(Boolean).forEach(function (pair) {
    const i = pair.lastIndexOf(":");
    versions[pair.slice(0, i)] = Number(pair.slice(i + 1));
  });
  const statuses = {};
  // Words from Django's JavaScript catalog (/jsi18n/), in the page's language.
  const labels = {
    connecting: gettext("Connecting to the live queue…"),
    live: gettext("Live: the table updates by itself."),
    unsure: gettext("Not sure the table is current."),
    reconnecting: gettext("Reconnecting…"),
    offline: gettext("Offline: the table may be out of date."),
  };

  slugs.forEach(function (slug) {
    OPDLive.connect("/ws/departments/" + slug + "/", {
      onMessage: function (message) {
        if (message.type !== "state") return;
        const seen = versions[slug];
        versions[slug] = message.version;
        // A state the table already shows (the first one on connect, usually) changes nothing.
        if (seen !== message.version) refresh(false);
      },
      onStatus: function (status) {
        statuses[slug] = status;
        const all = Object.values(statuses);
        const worst = ["offline", "reconnecting", "unsure", "connecting", "live"].find(
          function (s) { return all.includes(s); }
        );
        statusBox.dataset.status = worst;
        statusBox.textContent = labels[worst] || worst;
      },
    });
  });
})();
