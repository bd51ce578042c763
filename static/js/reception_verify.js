// Verify page: the "Send a new code" button stays disabled until the server's cooldown
// is over, with the seconds counting down next to it. The server enforces the cooldown
// anyway; this only saves a pointless click.
(function () {
  "use strict";

  const button = document.getElementById("resend-button");
  const label = document.getElementById("resend-countdown");
  if (!button) return;
  let left = parseInt(button.dataset.wait || "0", 10);
  if (!(left > 0)) return;
  const endsAt = Date.now() + left * 1000;

  function tick() {
    left = Math.max(0, Math.ceil((endsAt - Date.now()) / 1000));
    if (left === 0) {
      button.disabled = false;
      label.textContent = "";
      return;
    }
    button.disabled = true;
    label.textContent = interpolate(gettext("You can send a new code in %s s."), [left]);
    setTimeout(tick, 1000);
  }
  tick();
})();
