// The Rollcall supervisor console: a live roster of an account's conferences.
//
// Rule 1: credentials live in this script's memory only; they mint a watch
//         token (POST rollcall/v1/accounts/AC/watch-tokens) and sign the
//         actions, which go through Twilio's REST URIs (a role with
//         Rollcall's RollcallRole field; a move through its own move URI).
// Rule 2: the roster is the event stream folded, nothing else: an action's
//         answer changes nothing on the page, the event it causes does.
// Rule 3: every event is applied once: per conference, an event at or below
//         the revision already applied is dropped, and a conference that
//         ended stays ended; a `snapshot` event drops everything first.
// Rule 4: when the stream drops, EventSource reconnects with Last-Event-ID
//         by itself; when it cannot (the token expired, the server refused),
//         the page mints a new token and opens the stream again after the
//         last cursor it saw, with a growing pause while that fails.
"use strict";

(function () {
  const API = "2010-04-01/Accounts/";
  const OWN = "rollcall/v1/accounts/";
  const ENDED_STATUSES = new Set(["complete", "failed"]);
  const TOKEN_MARGIN_MS = 5000;

  const page = {};
  const session = {
    account: "",
    user: "",
    secret: "",
    prefix: "",
    token: "",
    tokenUntil: 0,
    source: null,
    lastId: "",
    retryMs: 1000,
    retryTimer: null,
    conferences: new Map(),
    ended: new Set(),
  };

  function $(id) {
    return document.getElementById(id);
  }

  function element(tag, className, text) {
    const made = document.createElement(tag);
    if (className) made.className = className;
    if (text !== undefined) made.textContent = text;
    return made;
  }

  function basic() {
    return "Basic " + btoa(session.user + ":" + session.secret);
  }

  // How many tokens were minted and snapshots begun, on <body data-*> (for a
  // reader or a test: a resumed stream begins none).
  function count(what) {
    document.body.dataset[what] = String(Number(document.body.dataset[what] || 0) + 1);
  }

  function setConnection(state, text) {
    page.connection.className = "connection " + state;
    page.connection.textContent = text || state;
  }

  function notice(text) {
    page.notice.textContent = text || "";
    page.notice.hidden = !text;
  }

  async function errorText(response) {
    try {
      const body = await response.json();
      return body.message || response.statusText;
    } catch (_) {
      return response.statusText || String(response.status);
    }
  }

  // -- watch tokens and the stream ------------------------------------------

  async function mint() {
    const response = await fetch(OWN + encodeURIComponent(session.account) + "/watch-tokens", {
      method: "POST",
      headers: { Authorization: basic() },
      cache: "no-store",
    });
    if (!response.ok) {
      const failure = new Error(await errorText(response));
      failure.status = response.status;
      throw failure;
    }
    const minted = await response.json();
    count("tokens");
    session.token = minted.token;
    session.tokenUntil = performance.now() + minted.expires_in * 1000;
  }

  function streamUrl() {
    const query = new URLSearchParams();
    query.set("access_token", session.token);
    if (session.prefix) query.set("prefix", session.prefix);
    query.set("type", "all"); // speaking events are sent only to who names them
    if (session.lastId) query.set("lastEventId", session.lastId);
    return OWN + encodeURIComponent(session.account) + "/events?" + query.toString();
  }

  function closeStream() {
    if (session.source) {
      session.source.close();
      session.source = null;
    }
    if (session.retryTimer !== null) {
      clearTimeout(session.retryTimer);
      session.retryTimer = null;
    }
  }

  function open() {
    closeStream();
    const source = new EventSource(streamUrl());
    session.source = source;
    source.addEventListener("open", function () {
      if (session.source !== source) return;
      session.retryMs = 1000;
      setConnection("live");
      notice("");
    });
    source.addEventListener("error", function () {
      if (session.source !== source) return;
      setConnection("reconnecting");
      if (source.readyState === EventSource.CLOSED) reconnect(); // refused: not retried by itself
    });
    source.addEventListener("snapshot", function () {
      count("snapshots");
      session.conferences.clear();
      session.ended.clear();
      render();
    });
    source.addEventListener("conference", function (event) {
      const data = JSON.parse(event.data);
      snapshotConference(data);
    });
    source.addEventListener("snapshot-complete", function (event) {
      session.lastId = event.lastEventId;
      render();
    });
    source.addEventListener("change", function (event) {
      session.lastId = event.lastEventId;
      apply(JSON.parse(event.data));
    });
    source.addEventListener("progress", function (event) {
      session.lastId = event.lastEventId;
    });
    source.addEventListener("stream-error", function (event) {
      const data = JSON.parse(event.data);
      if (data.reason === "CURSOR_INVALID" || data.reason === "CURSOR_FILTER_MISMATCH") {
        session.lastId = ""; // start over from a snapshot
      }
      if (data.reason.indexOf("TOKEN") >= 0) session.tokenUntil = 0;
      setConnection("reconnecting");
      reconnect(0);
    });
  }

  function reconnect(delay) {
    closeStream();
    const wait = delay === undefined ? session.retryMs : delay;
    session.retryMs = Math.min(session.retryMs * 2, 10000);
    session.retryTimer = setTimeout(async function () {
      session.retryTimer = null;
      if (!session.account) return;
      try {
        if (performance.now() > session.tokenUntil - TOKEN_MARGIN_MS) await mint();
      } catch (failure) {
        if (failure.status === 401) {
          notice("The credentials were refused: " + failure.message);
          signOut();
          return;
        }
        setConnection("reconnecting");
        reconnect();
        return;
      }
      open();
    }, wait);
  }

  // -- folding the stream (Rule 3) ------------------------------------------

  function participantEntry(p, since) {
    // The server's status_since when it says (its clock, at commit), else when seen.
    const stated = p.status_since ? Date.parse(p.status_since) : NaN;
    return { p: p, since: Number.isNaN(stated) ? since : stated };
  }

  // A clock's live value in seconds: total + (now - since) while since is set.
  function clock(total, since) {
    const started = since ? Date.parse(since) : NaN;
    const open = Number.isNaN(started) ? 0 : Math.max(0, (Date.now() - started) / 1000);
    return (total || 0) + open;
  }

  function clocks(p) {
    return {
      talk: clock(p.talk_seconds, p.talk_since),
      hold: clock(p.hold_seconds, p.hold_since),
      mute: clock(p.mute_seconds, p.mute_since),
    };
  }

  function stateOf(p) {
    return [p.status, p.muted, p.hold, p.coaching].join("/");
  }

  function snapshotConference(data) {
    const sid = data.conference.sid;
    const participants = new Map();
    for (const p of data.participants) {
      participants.set(p.call_sid, participantEntry(p, Date.parse(p.date_updated)));
    }
    session.ended.delete(sid);
    session.conferences.set(sid, {
      conference: data.conference,
      revision: data.revision,
      participants: participants,
    });
    render();
  }

  function apply(change) {
    const sid = change.conference.sid;
    if (session.ended.has(sid)) return;
    let held = session.conferences.get(sid);
    if (held && change.revision <= held.revision) return; // seen already
    if (!held) {
      held = { conference: change.conference, revision: 0, participants: new Map() };
      session.conferences.set(sid, held);
    }
    held.revision = change.revision;
    held.conference = change.conference;
    if (change.type === "conference-end" || change.conference.status === "completed") {
      session.conferences.delete(sid);
      session.ended.add(sid);
      render();
      return;
    }
    const p = change.participant;
    if (p) {
      const known = held.participants.get(p.call_sid);
      const gone = change.type === "participant-leave" || change.type === "participant-moved-out";
      if (gone || ENDED_STATUSES.has(p.status)) {
        held.participants.delete(p.call_sid);
      } else if (known && stateOf(known.p) === stateOf(p)) {
        known.p = p;
        if (p.status_since) known.since = Date.parse(p.status_since);
      } else {
        held.participants.set(p.call_sid, participantEntry(p, Date.parse(change.time)));
      }
    }
    render();
  }

  // -- the page -------------------------------------------------------------

  function duration(since) {
    if (!since) return "";
    return clockText((Date.now() - since) / 1000);
  }

  function clockText(value) {
    const seconds = Math.max(0, Math.floor(value));
    const hours = Math.floor(seconds / 3600);
    const minutes = Math.floor((seconds % 3600) / 60);
    const rest = String(seconds % 60).padStart(2, "0");
    return hours ? hours + ":" + String(minutes).padStart(2, "0") + ":" + rest : minutes + ":" + rest;
  }

  function flag(cell, on) {
    cell.textContent = on ? "yes" : "-";
    cell.className = cell.dataset.name + (on ? " flag-on" : "");
  }

  function conferenceBox(sid) {
    let box = page.conferences.querySelector('article[data-conference-sid="' + sid + '"]');
    if (box) return box;
    box = element("article", "conference");
    box.dataset.conferenceSid = sid;
    const head = element("header");
    head.append(element("h2", "name"), element("span", "sid", sid), element("span", "status"));
    const end = element("button", "end danger", "End conference");
    end.type = "button";
    end.dataset.action = "end";
    head.append(end);
    const table = element("table");
    const titles = element("tr");
    const headings = ["Participant", "Status", "Muted", "On hold", "Coaching", "Role", "In state for",
      "Talk", "Held (times)", "Muted for", "Answered by", "Speaking", ""];
    for (const title of headings) {
      titles.append(element("th", "", title));
    }
    const thead = element("thead");
    thead.append(titles);
    table.append(thead, element("tbody"));
    box.append(head, table);
    page.conferences.append(box);
    return box;
  }

  function participantRow(body, callSid) {
    let row = body.querySelector('tr[data-call-sid="' + callSid + '"]');
    if (row) return row;
    row = element("tr", "participant");
    row.dataset.callSid = callSid;
    for (const name of ["who", "status", "muted", "hold", "coaching", "role", "for",
      "talk", "held", "mutedfor", "answered", "speaking"]) {
      const cell = element("td", name);
      cell.dataset.name = name;
      row.append(cell);
    }
    const actions = element("td", "actions");
    const buttons = [["mute", "Mute"], ["hold", "Hold"], ["monitor", "Monitor"], ["move", "Move"], ["kick", "Kick"]];
    for (const [action, text] of buttons) {
      const button = element("button", action === "kick" ? "danger" : "", text);
      button.type = "button";
      button.dataset.action = action;
      actions.append(button);
    }
    row.append(actions);
    body.append(row);
    return row;
  }

  function render() {
    const seen = new Set();
    let people = 0;
    const ordered = Array.from(session.conferences.values()).sort(function (a, b) {
      return a.conference.friendly_name.localeCompare(b.conference.friendly_name);
    });
    for (const held of ordered) {
      const c = held.conference;
      const box = conferenceBox(c.sid);
      seen.add(c.sid);
      box.dataset.friendlyName = c.friendly_name;
      box.querySelector(".name").textContent = c.friendly_name;
      box.querySelector(".status").textContent = c.status;
      page.conferences.append(box); // keeps the boxes in name order
      const body = box.querySelector("tbody");
      const rows = new Set();
      for (const [callSid, entry] of held.participants) {
        const p = entry.p;
        const row = participantRow(body, callSid);
        rows.add(callSid);
        people += 1;
        row.dataset.label = p.label || "";
        row.dataset.since = String(entry.since || "");
        row.dataset.attributes = JSON.stringify(p.attributes || {});
        const who = row.querySelector(".who");
        who.textContent = p.label || p.call_sid;
        const pairs = Object.entries(p.attributes || {}).map(function (kv) { return kv.join("="); });
        if (pairs.length) who.append(element("span", "attributes", " " + pairs.join(" ")));
        const status = row.querySelector(".status");
        status.textContent = p.status;
        status.className = "status status-" + p.status;
        flag(row.querySelector(".muted"), p.muted);
        flag(row.querySelector(".hold"), p.hold);
        flag(row.querySelector(".coaching"), p.coaching);
        row.querySelector(".role").textContent = p.role && p.role !== "none" ? p.role : "-";
        row.querySelector('[data-action="monitor"]').textContent =
          p.role === "monitor" ? "Barge" : "Monitor";
        row.querySelector(".for").textContent = duration(entry.since);
        showClocks(row, p);
        row.querySelector(".answered").textContent = p.answered_by || "-";
        flag(row.querySelector(".speaking"), p.speaking);
        row.querySelector('[data-action="mute"]').textContent = p.muted ? "Unmute" : "Mute";
        row.querySelector('[data-action="hold"]').textContent = p.hold ? "Resume" : "Hold";
      }
      for (const row of Array.from(body.children)) {
        if (!rows.has(row.dataset.callSid)) row.remove();
      }
    }
    for (const box of Array.from(page.conferences.children)) {
      if (!seen.has(box.dataset.conferenceSid)) box.remove();
    }
    page.empty.hidden = session.conferences.size > 0;
    page.summary.textContent =
      session.conferences.size + " live conference" + (session.conferences.size === 1 ? "" : "s") +
      ", " + people + " participant" + (people === 1 ? "" : "s");
  }

  function showClocks(row, p) {
    const live = clocks(p);
    row.querySelector(".talk").textContent = clockText(live.talk);
    row.querySelector(".held").textContent = clockText(live.hold) + " (" + (p.hold_count || 0) + ")";
    row.querySelector(".mutedfor").textContent = clockText(live.mute);
  }

  function tick() {
    for (const row of page.conferences.querySelectorAll("tr.participant")) {
      row.querySelector(".for").textContent = duration(Number(row.dataset.since));
      const sid = row.closest("article").dataset.conferenceSid;
      const held = session.conferences.get(sid);
      const entry = held && held.participants.get(row.dataset.callSid);
      if (entry) showClocks(row, entry.p);
    }
  }

  // -- actions through the REST API (Rule 2) --------------------------------

  async function act(method, path, form) {
    const response = await fetch(API + encodeURIComponent(session.account) + path, {
      method: method,
      headers: Object.assign(
        { Authorization: basic() },
        form ? { "Content-Type": "application/x-www-form-urlencoded" } : {}
      ),
      body: form ? new URLSearchParams(form).toString() : undefined,
      cache: "no-store",
    });
    if (!response.ok) throw new Error(await errorText(response));
  }

  async function actOwn(path, form) {
    const response = await fetch(OWN + encodeURIComponent(session.account) + path, {
      method: "POST",
      headers: {
        Authorization: basic(),
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams(form).toString(),
      cache: "no-store",
    });
    if (!response.ok) throw new Error(await errorText(response));
  }

  async function onAction(event) {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const box = button.closest("article[data-conference-sid]");
    const sid = box.dataset.conferenceSid;
    const held = session.conferences.get(sid);
    if (!held) return;
    const conference = "/Conferences/" + encodeURIComponent(sid);
    const action = button.dataset.action;
    try {
      if (action === "end") {
        await act("POST", conference + ".json", { Status: "completed" });
        return;
      }
      const callSid = button.closest("tr").dataset.callSid;
      const entry = held.participants.get(callSid);
      if (!entry) return;
      const participant = conference + "/Participants/" + encodeURIComponent(callSid) + ".json";
      if (action === "mute") await act("POST", participant, { Muted: String(!entry.p.muted) });
      if (action === "hold") await act("POST", participant, { Hold: String(!entry.p.hold) });
      if (action === "monitor") {
        // A monitor hears everyone and is heard by no one; Barge joins in.
        const role = entry.p.role === "monitor" ? "barge" : "monitor";
        await act("POST", participant, { RollcallRole: role });
      }
      if (action === "move") {
        const destination = window.prompt("Move to which conference (SID or name)?", "");
        if (!destination) return;
        const path = "/conferences/" + encodeURIComponent(sid) + "/participants/" +
          encodeURIComponent(callSid) + "/move";
        await actOwn(path, { Destination: destination.trim() });
      }
      if (action === "kick") await act("DELETE", participant);
      notice("");
    } catch (failure) {
      notice(action + " failed: " + failure.message);
    }
  }

  // -- signing in and out ---------------------------------------------------

  async function signIn(event) {
    event.preventDefault();
    const account = $("account").value.trim();
    const key = $("key").value.trim();
    session.account = account;
    session.user = key || account;
    session.secret = $("secret").value;
    session.prefix = $("prefix").value;
    $("secret").value = "";
    page.signInError.textContent = "";
    setConnection("connecting");
    try {
      await mint();
    } catch (failure) {
      page.signInError.textContent = "Signing in failed: " + failure.message;
      forget();
      setConnection("signed-out", "signed out");
      return;
    }
    page.signIn.hidden = true;
    page.floor.hidden = false;
    page.signOut.hidden = false;
    page.who.textContent = session.user === account ? account : session.user + " for " + account;
    session.lastId = "";
    render();
    open();
  }

  function forget() {
    session.account = session.user = session.secret = session.token = session.lastId = "";
    session.tokenUntil = 0;
    session.conferences.clear();
    session.ended.clear();
  }

  function signOut() {
    closeStream();
    forget();
    render();
    page.floor.hidden = true;
    page.signOut.hidden = true;
    page.signIn.hidden = false;
    page.who.textContent = "";
    setConnection("signed-out", "signed out");
  }

  document.addEventListener("DOMContentLoaded", function () {
    page.connection = $("connection");
    page.notice = $("notice");
    page.who = $("who");
    page.signIn = $("sign-in");
    page.signInError = $("sign-in-error");
    page.signOut = $("sign-out");
    page.floor = $("floor");
    page.conferences = $("conferences");
    page.summary = $("summary");
    page.empty = $("empty");
    page.signIn.addEventListener("submit", signIn);
    page.signOut.addEventListener("click", signOut);
    page.conferences.addEventListener("click", onAction);
    setInterval(tick, 1000);
  });
})();
