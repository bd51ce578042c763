/*
 * Progress board: every department card follows its own live socket and redraws its
 * "now serving" rows and waiting count on each change, in the page's language (the
 * state carries places and notices in every language; the words come from the
 * JavaScript catalog).
 */
(function () {
  "use strict";

  const gettext = window.gettext || function (text) { return text; };
  const language = (document.documentElement.lang || "en").split("-")[0];
  const STATUS_LABELS = { called: gettext("Called"), in_consultation: gettext("In consultation") };
  const showStatus = OPDLive.statusLight(document.getElementById("live-status"));

  function element(tag, className, text) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function render(card, state) {
    const serving = card.querySelector('[data-role="serving"]');
    serving.replaceChildren();
    if (state.serving.length === 0) {
      serving.append(element("p", "muted", gettext("No one is being seen right now.")));
    }
    const details = state.serving_details || {};
    state.serving.forEach(function (entry) {
      const places = (details[entry.token] || {}).places || {};
      const row = element("div", "serving-row");
      row.dataset.token = entry.token;
      const arrow = element("span", "serving-arrow", "→");
      arrow.setAttribute("aria-hidden", "true");
      // The same markup as templates/queues/progress.html renders.
      const where = element("span", "serving-where");
      where.append(
        element("span", "serving-room", places[language] || entry.place || ""),
        element("span", "status-badge status-" + entry.status, STATUS_LABELS[entry.status] || entry.status)
      );
      row.append(element("span", "serving-token", entry.token), arrow, where);
      serving.append(row);
    });
    card.querySelector('[data-role="waiting-count"]').textContent = state.waiting_count;
    const notices = (state.notices_by_language || {})[language] || state.notices || [];
    renderNotices(card.querySelector('[data-role="notices"]'), notices);
  }

  // Desks that stepped away: "Dr. Rao, Room 4: on a ward round, back about 11:30".
  function renderNotices(box, notices) {
    if (!box) return;
    box.replaceChildren();
    notices.forEach(function (n) {
      box.append(element("p", "desk-notice", n.who + (n.place ? ", " + n.place : "") + ": " + n.text));
    });
  }

  document.querySelectorAll("[data-department-slug]").forEach(function (card) {
    const slug = card.dataset.departmentSlug;
    OPDLive.connect("/ws/departments/" + slug + "/", {
      onMessage: function (message) {
        if (message.type === "state") render(card, message);
      },
      onStatus: function (status, lastUpdate) {
        showStatus(slug, status, lastUpdate);
      },
    });
  });
})();
