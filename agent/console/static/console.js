// The staff console's script on every page: live inbox (Server-Sent Events), take over / give back, replies by text and
// by voice (MediaRecorder). Text from the server is set with textContent, never as HTML.
"use strict";
(function () {
  const csrf = document.body.dataset.csrf;

  function newId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  async function api(method, url, body, type) {
    const headers = { "X-CSRF-Token": csrf };
    if (type) headers["Content-Type"] = type;
    const response = await fetch(url, { method, headers, body, credentials: "same-origin" });
    if (!response.ok) {
      let detail = response.statusText;
      try { detail = (await response.json()).detail; } catch (e) { /* not JSON */ }
      throw new Error(typeof detail === "string" ? detail : "refused");
    }
    return response.json();
  }

  window.leadcloseConsole = Object.freeze({ api });  // for the pages' own scripts (the playground)

  function say(id, text) {
    const el = document.getElementById(id);
    if (el) el.textContent = text;
  }

  function item(href, label, meta) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = href;
    a.textContent = label;
    li.appendChild(a);
    const span = document.createElement("span");
    span.className = "meta";
    span.textContent = meta;
    li.appendChild(span);
    return li;
  }

  function fill(listId, countId, rows, meta, empty) {
    const list = document.getElementById(listId);
    list.replaceChildren(...rows.map((r) => {
      const li = item("/conversations/" + encodeURIComponent(r.conv), "Conversation " + r.conv.slice(-6), meta(r));
      li.dataset.conv = r.conv;
      return li;
    }));
    if (!rows.length) {
      const li = document.createElement("li");
      li.className = "empty";
      li.textContent = empty;
      list.appendChild(li);
    }
    say(countId, String(rows.length));
  }

  function waited(since) {
    const minutes = Math.max(0, Math.round((Date.now() / 1000 - since) / 60));
    return minutes < 1 ? "just now" : minutes + " min ago";  // "waiting since" / "last message"
  }

  function unread(row) {
    return row.unread > 0 ? ", " + row.unread + " new" : "";
  }

  async function refreshInbox() {
    const inbox = await api("GET", "/api/inbox");
    fill("waiting", "waiting-count", inbox.waiting, (r) => {
      const left = r.window_left_s === null ? "" : ", window " + Math.max(0, Math.floor(r.window_left_s / 3600)) + " h left";
      return "reason: " + r.reason + ", waiting since " + waited(r.since) + left + unread(r);
    }, "Nobody is waiting.");
    fill("taken", "taken-count", inbox.taken, (r) => "by " + r.holder + (r.mine ? " (you)" : "") + unread(r), "None.");
    fill("recent", "recent-count", inbox.recent, (r) => "last message " + waited(r.at), "None.");
  }

  function live(onEvent) {
    const source = new EventSource("/api/events");
    source.addEventListener("open", () => say("live-status", "Live: new conversations appear here."));
    source.addEventListener("inbox", (e) => onEvent(JSON.parse(e.data)));
    source.addEventListener("logout", () => { source.close(); window.location = "/login"; });
    source.addEventListener("error", () => say("live-status", "Reconnecting…"));
  }

  if (document.getElementById("waiting")) {
    live(() => refreshInbox().catch(() => say("live-status", "Could not refresh the inbox.")));
  }

  const conversation = document.getElementById("conversation");
  if (!conversation) return;
  const conv = conversation.dataset.conv;
  const base = "/api/conversations/" + encodeURIComponent(conv);

  document.querySelectorAll("[data-action]").forEach((button) => {
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await api("POST", base + "/" + button.dataset.action);
        window.location.reload();
      } catch (err) {
        say("result", "Refused: " + err.message);
        button.disabled = false;
      }
    });
  });

  function append(author, text) {
    const li = document.createElement("li");
    li.className = author;
    const who = document.createElement("span");
    who.className = "author";
    who.textContent = author;
    li.appendChild(who);
    li.appendChild(document.createTextNode(" " + text));
    document.getElementById("thread").appendChild(li);
  }

  const form = document.getElementById("reply-form");
  if (form) {
    let replyId = newId();  // one id per composed reply: sending twice sends once
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = document.getElementById("reply-text").value;
      try {
        await api("POST", base + "/replies", JSON.stringify({ reply_id: replyId, text }), "application/json");
        append("staff", text);
        form.reset();
        replyId = newId();
        say("result", "Sent.");
      } catch (err) {
        say("result", "Not sent: " + err.message);
      }
    });
  }

  const templateForm = document.getElementById("template-form");
  if (templateForm) {
    templateForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const name = document.getElementById("template-name").value;
      try {
        await api("POST", base + "/templates", JSON.stringify({ reply_id: newId(), name }), "application/json");
        append("staff", "template: " + name);
        say("result", "Template sent.");
      } catch (err) {
        say("result", "Not sent: " + err.message);
      }
    });
  }

  const record = document.getElementById("record");
  if (record) {
    let recorder = null;
    record.addEventListener("click", async () => {
      if (recorder) { recorder.stop(); return; }
      let stream;
      try {
        stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      } catch (err) {
        say("voice-status", "No microphone: " + err.message);
        return;
      }
      const chunks = [];
      const type = MediaRecorder.isTypeSupported("audio/webm;codecs=opus") ? "audio/webm;codecs=opus" : "";
      recorder = new MediaRecorder(stream, type ? { mimeType: type } : {});
      recorder.addEventListener("dataavailable", (e) => { if (e.data.size) chunks.push(e.data); });
      recorder.addEventListener("stop", async () => {
        stream.getTracks().forEach((t) => t.stop());
        record.textContent = "Record a voice reply";
        record.setAttribute("aria-pressed", "false");
        recorder = null;
        const blob = new Blob(chunks, { type: type || "audio/webm" });
        say("voice-status", "Sending the voice note…");
        try {
          await api("POST", base + "/voice-replies?reply_id=" + newId(), blob, blob.type);
          append("staff", "voice note");
          say("voice-status", "Voice note sent.");
        } catch (err) {
          say("voice-status", "Not sent: " + err.message);
        }
      });
      recorder.start();
      record.textContent = "Stop and send";
      record.setAttribute("aria-pressed", "true");
      say("voice-status", "Recording…");
    });
  }

  live((event) => { if (event.conv === conv && event.kind === "message") window.location.reload(); });
})();
