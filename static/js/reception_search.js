// Doctor search on the reception pages: suggestions as you type, in a listbox that the
// arrow keys, Enter and Escape drive (the WAI-ARIA combobox pattern). Choosing a doctor
// opens the booking page for that doctor and date. Without this script the box is a
// plain search form.
(function () {
  "use strict";

  const root = document.querySelector(".doctor-search");
  if (!root) return;
  const endpoint = root.dataset.endpoint;
  const input = root.querySelector("#doctor-q");
  const dateInput = root.querySelector("#doctor-date");
  const availableBox = root.querySelector("#doctor-available");
  const list = root.querySelector("#doctor-suggestions");
  const status = root.querySelector("#doctor-search-status");
  const DEBOUNCE_MS = 250;

  let results = [];
  let active = -1;
  let timer = null;
  let controller = null;
  let lastKey = "";

  function setExpanded(open) {
    list.hidden = !open;
    input.setAttribute("aria-expanded", open ? "true" : "false");
    if (!open) {
      active = -1;
      input.removeAttribute("aria-activedescendant");
    }
  }

  function freeText(n) {
    if (n === 0) return gettext("no free slots");
    return interpolate(ngettext("%s free slot", "%s free slots", n), [n]);
  }

  function render() {
    list.replaceChildren();
    results.forEach(function (doctor, i) {
      const li = document.createElement("li");
      li.id = "doctor-option-" + doctor.id;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", i === active ? "true" : "false");
      li.className = "suggestion" + (doctor.free_count ? "" : " suggestion-full");
      const name = document.createElement("strong");
      name.textContent = doctor.name;
      const meta = document.createElement("span");
      meta.className = "suggestion-meta";
      meta.textContent = [doctor.specialization, doctor.department, interpolate(gettext("Room %(room)s"), { room: doctor.room }, true)]
        .filter(Boolean)
        .join(" · ");
      const free = document.createElement("span");
      free.className = "suggestion-free";
      free.textContent = freeText(doctor.free_count);
      li.append(name, meta, free);
      // mousedown, not click: it fires before the input loses focus and closes the list.
      li.addEventListener("mousedown", function (event) {
        event.preventDefault();
        choose(i);
      });
      list.append(li);
    });
    if (results.length === 0 && input.value.trim()) {
      const li = document.createElement("li");
      li.setAttribute("role", "option");
      li.setAttribute("aria-disabled", "true");
      li.className = "suggestion-empty";
      li.textContent = gettext("No doctor matches.");
      list.append(li);
    }
    setExpanded(input.value.trim() !== "");
    if (active >= 0 && results[active]) {
      input.setAttribute("aria-activedescendant", "doctor-option-" + results[active].id);
      list.children[active].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function choose(i) {
    const doctor = results[i];
    if (doctor) window.location.assign(doctor.url);
  }

  function search() {
    const q = input.value.trim();
    const params = new URLSearchParams({ q: q });
    if (dateInput && dateInput.value) params.set("date", dateInput.value);
    if (availableBox && availableBox.checked) params.set("available", "1");
    const key = params.toString();
    if (key === lastKey) return;
    lastKey = key;
    if (!q) {
      results = [];
      setExpanded(false);
      status.textContent = "";
      return;
    }
    if (controller) controller.abort();
    controller = new AbortController();
    fetch(endpoint + "?" + key, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      signal: controller.signal,
    })
      .then(function (response) {
        return response.json();
      })
      .then(function (data) {
        results = data.results || [];
        active = -1;
        render();
        status.textContent = data.error
          ? data.error
          : interpolate(
              ngettext("%s doctor found.", "%s doctors found.", results.length),
              [results.length],
            );
      })
      .catch(function (error) {
        if (error.name !== "AbortError") status.textContent = gettext("Search failed; try again.");
        lastKey = "";
      });
  }

  function scheduleSearch() {
    clearTimeout(timer);
    timer = setTimeout(search, DEBOUNCE_MS);
  }

  input.addEventListener("input", scheduleSearch);
  if (dateInput) dateInput.addEventListener("change", scheduleSearch);
  if (availableBox) availableBox.addEventListener("change", scheduleSearch);

  input.addEventListener("keydown", function (event) {
    const open = !list.hidden && results.length > 0;
    if (event.key === "ArrowDown") {
      event.preventDefault();
      if (!open) {
        lastKey = "";
        search();
        return;
      }
      active = (active + 1) % results.length;
      render();
    } else if (event.key === "ArrowUp") {
      if (!open) return;
      event.preventDefault();
      active = active <= 0 ? results.length - 1 : active - 1;
      render();
    } else if (event.key === "Enter") {
      if (open && active >= 0) {
        event.preventDefault();
        choose(active);
      }
      // Otherwise the form submits: the booking page lists the matches.
    } else if (event.key === "Escape") {
      if (!list.hidden) {
        event.preventDefault();
        setExpanded(false);
      }
    }
  });

  input.addEventListener("blur", function () {
    setExpanded(false);
  });
  input.addEventListener("focus", function () {
    if (results.length && input.value.trim()) render();
  });
})();
