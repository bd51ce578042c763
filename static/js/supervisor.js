// The supervisor board /supervisor/: the server re-renders the tiles and the alerts on
// every change in any department (and on each ping, so waits keep counting) and pushes
// them over /ws/supervisor/; this swaps them in. A tile over its threshold says so in
// words ("ALERT: Longest wait 92 min (over 60)"), not by colour alone.
(function () {
  "use strict";

  var board = document.querySelector("[data-live-board]");
  if (!board || !window.OPDLive) return;
  var kind = board.dataset.messageType;
  var showStatus = OPDLive.statusLight(document.getElementById("live-status"));
  OPDLive.connect(board.dataset.socket, {
    onMessage: function (message) {
      if (message.type !== kind) return;
      // Don't pull an Acknowledge button out from under a click in progress.
      if (board.querySelector("form[data-submitting]")) return;
      board.innerHTML = message.html;
    },
    onStatus: function (status, lastUpdate) {
      showStatus(kind, status, lastUpdate);
    },
  });
  board.addEventListener("submit", function (event) {
    event.target.setAttribute("data-submitting", "");
  });
})();
