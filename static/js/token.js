// Token page: the "Print slip" button. (Print CSS shows the slip alone.)
(function () {
  "use strict";
  document.querySelectorAll("[data-action='print']").forEach(function (button) {
    button.addEventListener("click", function () {
      window.print();
    });
  });
})();
