// Take-a-token form: offer only the dates the chosen department is open, and say so
// plainly when the date has to change ("Closed today — tokens for Monday"): the date is
// never changed without a word. The server checks the date anyway.
(function () {
  "use strict";
  var department = document.getElementById("id_department");
  var date = document.getElementById("id_service_date");
  var notice = document.getElementById("date-notice");
  if (!department || !date) return;
  var t = window.gettext || function (s) { return s; };
  var fill = window.interpolate || function (s, o) {
    return s.replace(/%\((\w+)\)s/g, function (_, k) { return o[k]; });
  };

  function say(text) {
    if (!notice) return;
    notice.textContent = text;
    notice.hidden = !text;
  }

  function filterDates() {
    var slug = department.value;
    var chosen = department.options[department.selectedIndex];
    var before = date.options[date.selectedIndex];
    var firstVisible = null;
    Array.prototype.forEach.call(date.options, function (option) {
      var open = !slug || (" " + option.dataset.departments + " ").indexOf(" " + slug + " ") !== -1;
      option.hidden = !open;
      option.disabled = !open;
      if (open && firstVisible === null) firstVisible = option;
    });
    var text = "";
    if (before && before.disabled && firstVisible) {
      firstVisible.selected = true;
      if (before === date.options[0] && chosen && chosen.dataset.closedToday) {
        // The server's words, in the page's language: "Closed today — tokens for Monday".
        text = chosen.dataset.closedToday;
      } else {
        text = fill(t("%(department)s is closed on %(day)s. The date is now %(new_day)s."), {
          department: chosen ? chosen.textContent : "",
          day: before.dataset.name || before.textContent,
          new_day: firstVisible.dataset.name || firstVisible.textContent
        }, true);
      }
    }
    say(text);
  }

  department.addEventListener("change", filterDates);
  filterDates();
})();
