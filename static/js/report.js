// Daily report: the Print button (a script file, not an inline handler, so the page
// keeps to the Content-Security-Policy).
(function () {
  "use strict";
  document.querySelectorAll("[data-action=print]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      window.print();
    });
  });
})();
