// Booking page: changing the date shows that date's free slots straight away.
(function () {
  "use strict";

  const form = document.getElementById("slot-date-form");
  if (!form) return;
  const date = form.querySelector("input[type=date]");
  date.addEventListener("change", function () {
    if (date.value && date.checkValidity()) form.submit();
  });
})();
