// Take-a-token form: offer only the dates the chosen department is open.
// The server checks the date anyway; this only saves the patient a refusal.
(function () {
  "use strict";
  var department = document.getElementById("id_department");
  var date = document.getElementById("id_service_date");
  if (!department || !date) return;

  function filterDates() {
    var slug = department.value;
    var firstVisible = null;
    Array.prototype.forEach.call(date.options, function (option) {
      var open = !slug || (" " + option.dataset.departments + " ").indexOf(" " + slug + " ") !== -1;
      option.hidden = !open;
      option.disabled = !open;
      if (open && firstVisible === null) firstVisible = option;
    });
    var selected = date.options[date.selectedIndex];
    if ((!selected || selected.disabled) && firstVisible) firstVisible.selected = true;
  }

  department.addEventListener("change", filterDates);
  filterDates();
})();
