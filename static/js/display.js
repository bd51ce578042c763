/*
 * Waiting-room TV. One live socket per department shown; each state message redraws
 * that department. A token that newly appears as "called" (a fresh call or a recall), or
 * whose call staff repeat ("call again": its announced_at moves on), flashes, and the
 * screen plays a chime and speaks the call, if enabled by query. A token's priority
 * category is shown as words ("★ Senior citizen (60+)"), never as a colour alone.
 */
(function () {
  "use strict";

  const body = document.body;
  const soundOn = body.dataset.sound === "on";
  const voiceOn = body.dataset.voice === "on";
  const lang = body.dataset.lang || "en-IN";
  const statusBox = document.getElementById("tv-status");
  const gate = document.getElementById("tv-sound-gate");
  let audio = null;
  let audioUnlocked = false;

  // Browsers only allow sound after a user gesture; a TV is clicked once when set up
  // (or started with --autoplay-policy=no-user-gesture-required).
  function unlockAudio() {
    audioUnlocked = true;
    if (gate) gate.hidden = true;
    if (soundOn && !audio && window.AudioContext) audio = new AudioContext();
    if (audio && audio.state === "suspended") audio.resume();
  }
  if (gate) {
    gate.addEventListener("click", unlockAudio);
    document.addEventListener("keydown", unlockAudio, { once: true });
    document.addEventListener("click", unlockAudio, { once: true });
  }

  function chime() {
    if (!soundOn || !audio) return;
    const start = audio.currentTime;
    [659.25, 523.25].forEach(function (freq, i) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = "sine";
      osc.frequency.value = freq;
      const t = start + i * 0.45;
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(0.4, t + 0.03);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.9);
      osc.connect(gain).connect(audio.destination);
      osc.start(t);
      osc.stop(t + 1);
    });
  }

  function spokenToken(token) {
    // "ORTH-007" is read as "Token ORTH 7", not "zero zero seven".
    const parts = token.split("-");
    return "Token " + parts[0] + " " + String(parseInt(parts[1], 10));
  }

  function speak(call) {
    if (!voiceOn || !audioUnlocked || !window.speechSynthesis) return;
    // "…, please go to Room 4" / "…, please go to Counter 2": the place as the screen shows it.
    const text = spokenToken(call.token) + ", please go to " + placeOf(call);
    const utterance = new SpeechSynthesisUtterance(text);
    utterance.lang = lang;
    utterance.rate = 0.9;
    window.speechSynthesis.speak(utterance);
  }

  // Where the called patient goes: "Room 4" for a doctor, "Counter 2" or "Window B" for a
  // service counter. (A state from before service counters has only the room.)
  function placeOf(entry) {
    if (entry.place) return entry.place;
    return entry.room ? "Room " + entry.room : "";
  }

  function element(tag, className, text) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined) el.textContent = text;
    return el;
  }

  // Per department: the called_at and announced_at of each token last shown, to spot
  // new calls and calls repeated.
  const seen = {};
  // A repeated call older than this when the state was made is not replayed: a TV that
  // comes back from a lost connection does not shout a call from minutes ago.
  const REPLAY_WITHIN_MS = 60000;

  function announcedAgain(entry, before, state) {
    if (!entry.announced_at || !before || entry.announced_at === before.announced_at) {
      return false;
    }
    const at = Date.parse(entry.announced_at);
    if (before.announced_at && at <= Date.parse(before.announced_at)) return false;
    const made = Date.parse(state.generated_at) || Date.now();
    return made - at <= REPLAY_WITHIN_MS;
  }

  function categoryWords(label) {
    return element("span", "tv-category", label);
  }

  // Desks that stepped away, in the words the server chose: "Dr. Rao, Room 4: on a ward
  // round, back about 11:30" (state.notices; hidden when there are none).
  function renderNotices(section, state) {
    const box = section.querySelector(".tv-notices");
    if (!box) return;
    box.replaceChildren();
    (state.notices || []).forEach(function (n) {
      box.append(element("p", "tv-notice", n.who + (n.place ? ", " + n.place : "") + ": " + n.text));
    });
    box.hidden = box.childElementCount === 0;
  }

  function render(section, state) {
    renderNotices(section, state);
    const slug = section.dataset.departmentSlug;
    const previous = seen[slug];
    const current = {};
    const fresh = [];
    const serving = section.querySelector(".tv-serving");
    serving.replaceChildren();
    state.serving.forEach(function (entry) {
      current[entry.token] = { called_at: entry.called_at, announced_at: entry.announced_at };
      const li = element("li");
      li.dataset.token = entry.token;
      li.append(
        element("span", "tv-token", entry.token),
        element("span", "tv-arrow", "→"),
        element("span", "tv-room", placeOf(entry)),
        element("span", "tv-state", entry.status === "called" ? "please go in" : "in consultation")
      );
      if (entry.category) li.append(categoryWords(entry.category));
      const before = previous && previous[entry.token];
      const newCall = previous && (!before || before.called_at !== entry.called_at);
      if (entry.status === "called" && (newCall || announcedAgain(entry, before, state))) {
        li.classList.add("tv-flash");
        li.dataset.announcedAt = entry.announced_at || entry.called_at || "";
        fresh.push(entry);
      }
      serving.append(li);
    });
    seen[slug] = current;

    const next = section.querySelector(".tv-next-list");
    next.replaceChildren();
    const urgent = new Set(state.emergencies || []);
    const categories = state.categories || {};
    state.next.forEach(function (token) {
      const li = element("li", urgent.has(token) ? "tv-emergency" : "", token);
      li.dataset.token = token;
      if (categories[token]) li.append(" ", categoryWords(categories[token]));
      next.append(li);
    });
    section.querySelector(".tv-waiting").textContent =
      state.waiting_count === 0 ? "No one waiting" : state.waiting_count + " waiting in all";

    if (fresh.length) {
      chime();
      fresh.forEach(speak);
    }
  }

  function showStatus(status, lastUpdate) {
    statusBox.classList.toggle("live", status === "live");
    statusBox.classList.toggle("offline", status === "offline");
    statusBox.dataset.status = status;
    const labels = {
      connecting: "Connecting…", live: "Live", unsure: "Not sure this is current",
      reconnecting: "Reconnecting…", offline: "Offline",
    };
    statusBox.querySelector(".tv-status-text").textContent = labels[status] || status;
    if (lastUpdate) {
      statusBox.querySelector(".tv-updated").textContent =
        "updated " + OPDLive.clockTime(lastUpdate, true);
    }
  }

  const initial = JSON.parse(document.getElementById("tv-initial").textContent);
  const statuses = {};
  document.querySelectorAll(".tv-dept").forEach(function (section) {
    const slug = section.dataset.departmentSlug;
    if (initial[slug]) render(section, initial[slug]);
    OPDLive.connect("/ws/departments/" + slug + "/", {
      onMessage: function (message) {
        if (message.type === "state") render(section, message);
      },
      onStatus: function (status, lastUpdate) {
        // The light shows the worst of the department sockets.
        statuses[slug] = status;
        const all = Object.values(statuses);
        const worst = ["offline", "reconnecting", "unsure", "connecting", "live"].find(function (s) {
          return all.includes(s);
        });
        showStatus(worst, lastUpdate);
      },
    });
  });

  function tick() {
    document.getElementById("tv-clock").textContent =
      OPDLive.clockTime(new Date(), false);
  }
  tick();
  setInterval(tick, 10000);
})();
