// The token slip. Outside the kiosk: a Print button. At the kiosk (?kiosk=1) the slip
// prints itself (window.print(); Chromium started with --kiosk --kiosk-printing prints
// without a dialog), or, when the kiosk has a network printer, the server prints it and
// this page follows the print job and says plainly if the printer did not answer. Then
// the page goes back to the start screen, in the kiosk's own language, so the next
// patient never sees this one's name. Its words come from the page (the token's
// language), not from the JavaScript catalog (the browser's language).
(function () {
  "use strict";
  var controls = document.getElementById("slip-controls");
  if (!controls) return;

  var printButton = controls.querySelector("[data-action=print]");
  if (printButton) {
    printButton.addEventListener("click", function () { window.print(); });
  }
  if (controls.dataset.kiosk !== "1") return;

  var status = document.getElementById("print-status");
  var countdown = document.getElementById("countdown");
  var reset = document.getElementById("kiosk-reset");
  var timer = null;
  // A job still pending after this many polls (one a second): the worker or the
  // printer is not answering; the patient is told so.
  var MAX_POLLS = 30;

  function fill(text, seconds) {
    return text.replace("%(seconds)s", String(seconds));
  }

  function startCountdown(seconds) {
    if (timer) window.clearInterval(timer);
    var left = seconds;
    countdown.textContent = fill(controls.dataset.countdownText, left);
    timer = window.setInterval(function () {
      left -= 1;
      if (left <= 0) {
        window.clearInterval(timer);
        countdown.textContent = fill(controls.dataset.countdownText, 0);
        reset.submit();
        return;
      }
      countdown.textContent = fill(controls.dataset.countdownText, left);
    }, 1000);
  }

  function failed(message) {
    status.textContent = message || controls.dataset.failedText;
    status.classList.add("is-failed");
    document.body.classList.add("print-failed");
    startCountdown(parseInt(controls.dataset.failedReturnSeconds, 10) || 120);
  }

  function poll(count) {
    fetch(controls.dataset.statusUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (job) {
        if (job.status === "printed") {
          status.textContent = job.message;
          startCountdown(parseInt(controls.dataset.returnSeconds, 10) || 8);
        } else if (job.status === "failed") {
          failed(job.message);
        } else if (count >= MAX_POLLS) {
          failed();
        } else {
          window.setTimeout(function () { poll(count + 1); }, 1000);
        }
      })
      .catch(function () {
        if (count >= MAX_POLLS) failed();
        else window.setTimeout(function () { poll(count + 1); }, 1000);
      });
  }

  if (controls.dataset.print === "server") {
    poll(0);
  } else {
    // Let the page (and its QR code) be laid out before printing.
    window.requestAnimationFrame(function () {
      window.setTimeout(function () {
        window.print();
        startCountdown(parseInt(controls.dataset.returnSeconds, 10) || 8);
      }, 100);
    });
  }
})();
