// Doctor terminal: running timers. Each <time data-since="ISO"> counts up every second
// from its timestamp, on the local clock only (no network).
(function () {
  "use strict";
  var timers = Array.prototype.slice.call(document.querySelectorAll("[data-since]"));
  if (!timers.length) return;

  function pad(n) {
    return n < 10 ? "0" + n : String(n);
  }

  function clock(seconds) {
    var h = Math.floor(seconds / 3600);
    var m = Math.floor((seconds % 3600) / 60);
    var s = seconds % 60;
    return h ? h + ":" + pad(m) + ":" + pad(s) : m + ":" + pad(s);
  }

  function minutes(seconds) {
    var total = Math.floor(seconds / 60);
    if (total < 1) return "under 1 min";
    if (total < 60) return total + " min";
    return Math.floor(total / 60) + " h " + pad(total % 60) + " min";
  }

  function tick() {
    var now = Date.now();
    timers.forEach(function (el) {
      var since = Date.parse(el.dataset.since);
      if (isNaN(since)) return;
      var seconds = Math.max(0, Math.floor((now - since) / 1000));
      el.textContent = el.dataset.format === "minutes" ? minutes(seconds) : clock(seconds);
    });
  }

  tick();
  setInterval(tick, 1000);
})();
