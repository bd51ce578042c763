/*
 * Waiting-room TV. One live socket per department shown; each state message redraws
 * that department. A token that newly appears as "called" (a fresh call or a recall), or
 * whose call staff repeat ("call again": its announced_at moves on), flashes, and the
 * screen plays a chime and then says the call in each language it is set to, one after
 * another. Calls wait their turn in a queue (FIFO), so two quick calls never talk over
 * each other.
 *
 * The spoken call is a chain of short audio clips (static/audio/<language>/<clip>),
 * listed per language by the server (state.serving_details[token].announce); the page
 * knows which clips exist (#tv-clips). Only when a sentence has a clip missing is it said
 * by the browser's own voice instead, which may not speak Hindi or Tamil at all.
 *
 * The screen's words come from the JavaScript catalog of the screen's language (?lang=,
 * loaded by the page whatever the browser's language); names
 * and places from the state's per-language maps. Departments beyond data-per-page are
 * shown in pages that take turns; the "Last calls" column lists the latest calls of all.
 * Every time is the hospital's (<html data-time-zone>), not the TV's own clock's.
 */
(function () {
  "use strict";

  const body = document.body;
  const soundOn = body.dataset.sound === "on";
  const voiceOn = body.dataset.voice === "on";
  const language = body.dataset.language || "en";
  const spokenLanguages = (body.dataset.languages || language).split(",").filter(Boolean);
  const perPage = Math.max(1, parseInt(body.dataset.perPage, 10) || 4);
  const statusBox = document.getElementById("tv-status");
  const gate = document.getElementById("tv-sound-gate");
  const clipUrls = JSON.parse(document.getElementById("tv-clips").textContent);
  const zone = document.documentElement.dataset.timeZone || undefined;
  // BCP 47 tags for the browser's voice (the fallback).
  const SPEECH_TAGS = { en: "en-IN", hi: "hi-IN", ta: "ta-IN" };
  const PAGE_EVERY_MS = 12000;
  const RECENT_SHOWN = 8;

  // The screen's words, from the JavaScript catalog of the screen's language.
  const words = {
    connecting: gettext("Connecting…"),
    live: gettext("Live"),
    unsure: gettext("Not sure this is current"),
    reconnecting: gettext("Reconnecting…"),
    offline: gettext("Offline"),
    // Translators: after the TV's connection light, e.g. "updated 09:42:10".
    updated: gettext("updated %(time)s"),
    // Translators: under a called token on the TV: the patient should go in now.
    called: gettext("please go in"),
    in_consultation: gettext("in consultation"),
    urgent: gettext("(urgent)"),
    none_waiting: gettext("No one waiting"),
    // Translators: how many wait in a department, on the TV: "Waiting: 12".
    waiting: gettext("Waiting: %(count)s"),
    // Translators: the TV shows departments in pages that take turns: "Page 1 of 2".
    page: gettext("Page %(page)s of %(pages)s"),
    no_calls: gettext("No calls yet today."),
  };
  function word(key, values) {
    return interpolate(words[key] || key, values || {}, true);
  }
  // A name from the state in the screen's language: {en, hi, ta}, else the English one.
  function local(names, fallback) {
    return (names && names[language]) || fallback || "";
  }

  // Clock times in the hospital's zone, 24-hour, in the screen's language.
  function clockFormat(withSeconds) {
    const options = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
    if (withSeconds) options.second = "2-digit";
    try {
      return new Intl.DateTimeFormat(language + "-IN", Object.assign({ timeZone: zone }, options));
    } catch (err) {
      return new Intl.DateTimeFormat(language + "-IN", options); // an unknown zone name
    }
  }
  const timeFormat = clockFormat(false);
  const secondsFormat = clockFormat(true);

  // --- Sound ------------------------------------------------------------------------
  // Browsers allow sound only after a user gesture, unless started with
  // --autoplay-policy=no-user-gesture-required (a wall TV): then the audio context runs
  // at once and no click is asked for.
  let audio = null;
  let audioUnlocked = false;
  function unlockAudio() {
    if (!audio && window.AudioContext) audio = new AudioContext();
    if (audio && audio.state === "suspended") audio.resume();
    audioUnlocked = true;
    if (gate) gate.hidden = true;
  }
  if (soundOn || voiceOn) {
    if (window.AudioContext) audio = new AudioContext();
    if (audio && audio.state === "running") {
      audioUnlocked = true;
    } else if (gate) {
      gate.hidden = false;
      gate.addEventListener("click", unlockAudio);
      document.addEventListener("keydown", unlockAudio, { once: true });
      document.addEventListener("click", unlockAudio, { once: true });
    }
  }

  // What was played, in order, for tests and for a technician at the console.
  window.announcementLog = [];
  const pending = [];
  window.announcementQueue = pending;
  let speaking = false;

  function wait(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  function chime() {
    if (!soundOn || !audio) return Promise.resolve();
    window.announcementLog.push("chime");
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
    return wait(1400);
  }

  // One clip, to its end. A clip that cannot play (or never says it ended) does not
  // hold up the queue.
  function playClip(clip) {
    return new Promise(function (resolve) {
      let done = false;
      function finish() {
        if (done) return;
        done = true;
        clearTimeout(guard);
        resolve();
      }
      const guard = setTimeout(finish, 8000);
      clip.onended = finish;
      clip.onerror = finish;
      window.announcementLog.push(clip.dataset.url);
      const playing = clip.play();
      if (playing && playing.catch) playing.catch(finish);
    });
  }

  async function playClips(urls) {
    // Fetched all at once, played one after another.
    const clips = urls.map(function (url) {
      const clip = new Audio(url);
      clip.preload = "auto";
      clip.dataset.url = url;
      return clip;
    });
    for (const clip of clips) {
      await playClip(clip);
    }
  }

  function speakText(text, lang) {
    window.announcementLog.push("speech:" + lang + ":" + text);
    if (!window.speechSynthesis) return Promise.resolve();
    return new Promise(function (resolve) {
      const utterance = new SpeechSynthesisUtterance(text);
      utterance.lang = SPEECH_TAGS[lang] || lang;
      utterance.rate = 0.9;
      // A browser without a voice may never end the utterance.
      const guard = setTimeout(resolve, 2000 + text.length * 120);
      utterance.onend = utterance.onerror = function () {
        clearTimeout(guard);
        resolve();
      };
      window.speechSynthesis.speak(utterance);
    });
  }

  // A call's sentences, one per spoken language: the clips' addresses if every clip is
  // here, else the words for the browser's voice.
  function sentencesOf(call) {
    const announce = call.announce || {};
    return spokenLanguages.map(function (lang) {
      const said = announce[lang] || { text: "", clips: [] };
      const urls = (said.clips || []).map(function (name) { return clipUrls[name]; });
      const complete = urls.length > 0 && urls.every(Boolean);
      return { lang: lang, text: said.text, urls: complete ? urls : null };
    });
  }

  function enqueue(call) {
    if (!audioUnlocked || (!soundOn && !voiceOn)) return;
    pending.push({ token: call.token, sentences: sentencesOf(call) });
    if (!speaking) drain();
  }

  async function drain() {
    speaking = true;
    while (pending.length) {
      const item = pending[0];
      await chime();
      if (voiceOn) {
        for (const sentence of item.sentences) {
          if (sentence.urls) await playClips(sentence.urls);
          else if (sentence.text) await speakText(sentence.text, sentence.lang);
          await wait(400);
        }
      }
      pending.shift();
    }
    speaking = false;
  }

  // --- Drawing ------------------------------------------------------------------------

  function element(tag, className, text) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined) el.textContent = text;
    return el;
  }

  // Where the called patient goes, in the screen's language: "कमरा 4", "Counter 2".
  function placeOf(entry, details) {
    return local(details && details.places, entry.place || "");
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

  // Desks that stepped away: "Dr. Rao, Room 4: on a ward round, back about 11:30", in
  // the screen's language (hidden when there are none).
  function renderNotices(section, state) {
    const box = section.querySelector(".tv-notices");
    box.replaceChildren();
    const notices = (state.notices_by_language || {})[language] || state.notices || [];
    notices.forEach(function (n) {
      box.append(element("p", "tv-notice", n.who + (n.place ? ", " + n.place : "") + ": " + n.text));
    });
    box.hidden = box.childElementCount === 0;
  }

  const statesBySlug = {};

  function render(section, state) {
    const slug = section.dataset.departmentSlug;
    statesBySlug[slug] = state;
    renderNotices(section, state);
    const heading = section.querySelector("h2");
    heading.textContent = local(state.department.names, state.department.name);
    const details = state.serving_details || {};
    const previous = seen[slug];
    const current = {};
    const fresh = [];
    const serving = section.querySelector(".tv-serving");
    serving.replaceChildren();
    state.serving.forEach(function (entry) {
      const more = details[entry.token] || {};
      current[entry.token] = { called_at: entry.called_at, announced_at: entry.announced_at };
      const li = element("li");
      li.dataset.token = entry.token;
      li.append(
        element("span", "tv-token", entry.token),
        element("span", "tv-arrow", "→"),
        element("span", "tv-room", placeOf(entry, more)),
        element("span", "tv-state", word(entry.status === "called" ? "called" : "in_consultation"))
      );
      if (entry.category) li.append(categoryWords(local(more.category_labels, entry.category)));
      const before = previous && previous[entry.token];
      const newCall = previous && (!before || before.called_at !== entry.called_at);
      if (entry.status === "called" && (newCall || announcedAgain(entry, before, state))) {
        li.classList.add("tv-flash");
        li.dataset.announcedAt = entry.announced_at || entry.called_at || "";
        fresh.push({ token: entry.token, announce: more.announce });
      }
      serving.append(li);
    });
    seen[slug] = current;

    const next = section.querySelector(".tv-next-list");
    next.replaceChildren();
    const urgent = new Set(state.emergencies || []);
    const labels = state.category_labels || {};
    const categories = state.categories || {};
    state.next.forEach(function (token) {
      const li = element("li", urgent.has(token) ? "tv-emergency" : "", token);
      li.dataset.token = token;
      if (categories[token]) li.append(" ", categoryWords(local(labels[token], categories[token])));
      else if (urgent.has(token)) li.append(" ", element("span", "tv-urgent", word("urgent")));
      next.append(li);
    });
    section.querySelector(".tv-waiting").textContent =
      state.waiting_count === 0 ? word("none_waiting") : word("waiting", { count: state.waiting_count });

    renderRecent();
    if (fresh.length) {
      showPageOf(section);
      fresh.forEach(enqueue);
    }
  }

  // The latest calls of every department shown, newest first.
  function renderRecent() {
    const calls = [];
    Object.keys(statesBySlug).forEach(function (slug) {
      (statesBySlug[slug].recent_calls || []).forEach(function (call) { calls.push(call); });
    });
    calls.sort(function (a, b) { return Date.parse(b.called_at) - Date.parse(a.called_at); });
    const list = document.getElementById("tv-recent-list");
    list.replaceChildren();
    calls.slice(0, RECENT_SHOWN).forEach(function (call) {
      const li = element("li");
      li.dataset.token = call.token;
      li.append(
        element("span", "tv-recent-token", call.token),
        element("span", "tv-recent-place", "→ " + local(call.places, call.place)),
        element("time", "tv-recent-time", timeFormat.format(new Date(call.called_at)))
      );
      li.querySelector("time").dateTime = call.called_at;
      list.append(li);
    });
    if (!calls.length) list.append(element("li", "tv-recent-none", word("no_calls")));
  }

  // --- Pages of departments -------------------------------------------------------------
  const sections = Array.from(document.querySelectorAll(".tv-dept"));
  const pages = Math.ceil(sections.length / perPage);
  const grid = document.getElementById("tv-grid");
  const pageMarker = document.getElementById("tv-page");
  let page = 0;
  let pageTimer = null;

  function showPage(index) {
    page = index % pages;
    const shown = sections.slice(page * perPage, page * perPage + perPage);
    sections.forEach(function (section) { section.hidden = !shown.includes(section); });
    grid.className = "tv-grid tv-count-" + shown.length;
    pageMarker.hidden = pages < 2;
    pageMarker.textContent = word("page", { page: page + 1, pages: pages });
    grid.dataset.page = String(page + 1);
  }

  function startRotation() {
    clearInterval(pageTimer);
    if (pages > 1) pageTimer = setInterval(function () { showPage(page + 1); }, PAGE_EVERY_MS);
  }

  // A fresh call brings its department's page up, for a full turn.
  function showPageOf(section) {
    const index = Math.floor(sections.indexOf(section) / perPage);
    if (pages > 1 && index !== page) {
      showPage(index);
      startRotation();
    }
  }

  // --- Connection -----------------------------------------------------------------------
  const staleNote = document.getElementById("tv-stale-note");

  function showStatus(status, lastUpdate) {
    statusBox.classList.toggle("live", status === "live");
    statusBox.classList.toggle("offline", status === "offline");
    statusBox.dataset.status = status;
    statusBox.querySelector(".tv-status-text").textContent = word(status);
    if (lastUpdate) {
      statusBox.querySelector(".tv-updated").textContent =
        word("updated", { time: secondsFormat.format(lastUpdate) });
    }
    // The socket is gone: what the screen shows may be old, and says so.
    const stale = status === "offline" || status === "reconnecting";
    body.classList.toggle("tv-stale", stale);
    staleNote.hidden = !stale;
  }

  const initial = JSON.parse(document.getElementById("tv-initial").textContent);
  const statuses = {};
  showPage(0);
  startRotation();
  sections.forEach(function (section) {
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
  renderRecent();

  function tick() {
    document.getElementById("tv-clock").textContent = timeFormat.format(new Date());
  }
  tick();
  setInterval(tick, 10000);
})();
