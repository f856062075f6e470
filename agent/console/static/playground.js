// The playground page: a sandbox session, typed messages, voice notes held to record (MediaRecorder) or
// uploaded, and each turn shown stage by stage. Runs after console.js, whose `api` it uses. Text from the
// server is set with textContent, never as HTML.
"use strict";
(function () {
  const chat = document.getElementById("pg-chat");
  const form = document.getElementById("pg-form");
  const text = document.getElementById("pg-text");
  const record = document.getElementById("pg-record");
  const file = document.getElementById("pg-file");
  const endButton = document.getElementById("pg-end");
  const maxAudio = Number(form.dataset.maxAudio);
  let session = null;
  let busy = false;

  function status(message, id) {
    document.getElementById(id || "pg-status").textContent = message;
  }

  const api = window.leadcloseConsole.api;  // console.js: fetch with the session's CSRF token

  function el(tag, className, content) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (content !== undefined) node.textContent = content;
    return node;
  }

  // What the person said, with each masked span marked by its type.
  function marked(said, spans) {
    const out = el("span", "pg-said");
    let at = 0;
    for (const span of [...spans].sort((a, b) => a.start - b.start)) {
      if (span.start < at) continue;
      out.appendChild(document.createTextNode(said.slice(at, span.start)));
      const mark = el("mark", "pii pii-" + span.type, said.slice(span.start, span.end));
      mark.dataset.type = span.type;
      mark.title = span.type;
      out.appendChild(mark);
      out.appendChild(el("span", "pii-type", span.type));
      at = span.end;
    }
    out.appendChild(document.createTextNode(said.slice(at)));
    return out;
  }

  function section(parent, title, node) {
    parent.appendChild(el("h3", null, title));
    parent.appendChild(node);
  }

  function json(value, className) {
    return el("pre", className, JSON.stringify(value, null, 2));
  }

  function show(turn) {
    const item = el("li", "pg-turn");
    item.dataset.turn = String(turn.turn);
    item.dataset.outcome = turn.outcome;
    const person = el("div", "pg-bubble pg-person");
    person.appendChild(el("span", "author", turn.kind === "voice" ? "You (voice note)" : "You"));
    person.appendChild(marked(turn.said || "", turn.masked));
    if (turn.transcript_language) {
      person.appendChild(el("span", "author pg-language",
        "transcript · language " + turn.transcript_language + " · " + turn.audio_s.toFixed(1) + " s"));
    }
    item.appendChild(person);

    const reply = el("div", "pg-bubble pg-reply");
    reply.appendChild(el("span", "author", "Assistant"));
    if (turn.withheld) {
      reply.appendChild(el("em", "pg-reply-text", "No reply: " + turn.withheld));
    } else {
      reply.appendChild(el("span", "pg-reply-text", turn.reply));
    }
    if (turn.voice_note) {
      const audio = el("audio", "pg-voice");
      audio.controls = true;
      audio.preload = "auto";
      audio.src = "/api/playground/sessions/" + session + "/turns/" + turn.turn + "/voice";
      audio.setAttribute("aria-label", "The assistant's voice note");
      reply.appendChild(audio);
    }
    item.appendChild(reply);

    const stages = el("details", "pg-stages");
    stages.appendChild(el("summary", null, "What happened (" + turn.outcome + ")"));
    const facts = [["outcome", turn.outcome + (turn.failure ? " (" + turn.failure + ")" : "")]];
    if (turn.keyword) facts.push(["keyword", turn.keyword]);
    if (turn.disclosure) facts.push(["disclosure", "added (first contact)"]);
    if (turn.llm_model) facts.push(["model", turn.llm_model + " · tokens " + turn.tokens.prompt + "+" + turn.tokens.completion]);
    const list = el("dl", "pg-timings pg-facts");
    for (const [name, value] of facts) { list.appendChild(el("dt", null, name)); list.appendChild(el("dd", null, value)); }
    section(stages, "Turn", list);
    if (turn.masked.length) {
      section(stages, "Masked before the model", el("pre", "pg-minimized", turn.minimized));
    }
    if (turn.prompt.length) {
      section(stages, "Sent to the LLM (minimized, the turn's last request)", json(turn.prompt, "pg-prompt"));
    }
    if (turn.tool_calls.length) section(stages, "Tool calls (as the model saw them)", json(turn.tool_calls, "pg-tools"));
    if (turn.dry_runs.length) section(stages, "Dry runs (what the business system would get)", json(turn.dry_runs, "pg-dry-runs"));
    const timings = el("dl", "pg-timings pg-stage-times");
    for (const [stage, ms] of Object.entries(turn.timings_ms)) {
      timings.appendChild(el("dt", null, stage));
      timings.appendChild(el("dd", null, Math.round(ms) + " ms"));
    }
    if (Object.keys(turn.timings_ms).length) section(stages, "Stage timings", timings);
    item.appendChild(stages);
    chat.appendChild(item);
    item.scrollIntoView({ block: "end" });
  }

  async function ensureSession() {
    if (session) return session;
    const opened = await api("POST", "/api/playground/sessions");
    session = opened.session;
    endButton.disabled = false;
    status("Session open: erased when you end it or an hour after its last message.", "pg-session-status");
    return session;
  }

  async function send(kind, body, type) {
    if (busy) return;
    busy = true;
    status(kind === "voice" ? "Hearing the voice note…" : "Answering…");
    try {
      const id = await ensureSession();
      const path = "/api/playground/sessions/" + id + (kind === "voice" ? "/voice" : "/messages");
      show(await api("POST", path, body, type));
      status("Answered.");
    } catch (error) {
      status("Failed: " + error.message);
    } finally {
      busy = false;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const message = text.value.trim();
    if (!message) return;
    text.value = "";
    send("text", JSON.stringify({ text: message }), "application/json");
  });

  file.addEventListener("change", () => {
    const chosen = file.files && file.files[0];
    file.value = "";
    if (!chosen) return;
    if (chosen.size > maxAudio) { status("That file is too large."); return; }
    send("voice", chosen, chosen.type || "application/octet-stream");
  });

  // Hold to record: pointer or Space/Enter down starts, up sends. The button keeps its label and size while
  // held (the state shows in its colour and the status line), and it captures the pointer, so a page that
  // moves under the finger, or a finger that slides off, does not cut the note short. A tap (released within
  // half a second, whether or not the microphone was open yet) sends nothing and says how to record.
  const minHoldMs = 500;
  const holdHint = "Hold the button while you speak; release to send.";
  let recorder = null;
  let chunks = [];
  let held = false;
  let pressedAt = 0;  // the press and the release, as the input events' own times (not when handled)
  let releasedAt = 0;
  async function startRecording(at) {
    if (recorder || busy) return;
    held = true;
    pressedAt = at;
    releasedAt = Infinity;
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (error) {
      held = false;
      status("The microphone is not available: " + error.message);
      return;
    }
    if (!held || recorder) {
      stream.getTracks().forEach((t) => t.stop());
      if (!recorder) status(holdHint);
      return;
    }
    const type = MediaRecorder.isTypeSupported("audio/webm;codecs=opus") ? "audio/webm;codecs=opus" : "";
    const started = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
    recorder = started;
    chunks = [];
    started.addEventListener("dataavailable", (e) => { if (e.data.size) chunks.push(e.data); });
    started.addEventListener("stop", () => {
      stream.getTracks().forEach((t) => t.stop());
      const blob = new Blob(chunks, { type: started.mimeType || "audio/webm" });
      recorder = null;
      record.setAttribute("aria-pressed", "false");
      if (releasedAt - pressedAt < minHoldMs) status(holdHint);
      else if (blob.size) send("voice", blob, blob.type);
    });
    started.start();
    record.setAttribute("aria-pressed", "true");
    status("Recording… release to send.");
  }
  function stopRecording(e) {
    if (held) releasedAt = e.timeStamp;
    held = false;
    if (recorder && recorder.state === "recording") recorder.stop();
  }
  record.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    record.setPointerCapture(e.pointerId);
    startRecording(e.timeStamp);
  });
  record.addEventListener("pointerup", stopRecording);
  record.addEventListener("pointercancel", stopRecording);
  record.addEventListener("lostpointercapture", stopRecording);
  record.addEventListener("keydown", (e) => {
    if ((e.key === " " || e.key === "Enter") && !e.repeat) { e.preventDefault(); startRecording(e.timeStamp); }
  });
  record.addEventListener("keyup", (e) => {
    if (e.key === " " || e.key === "Enter") { e.preventDefault(); stopRecording(e); }
  });

  document.getElementById("pg-new").addEventListener("click", async () => {
    if (session) await endSession();
    chat.replaceChildren();
    try { await ensureSession(); } catch (error) { status("Failed: " + error.message); }
  });

  async function endSession() {
    if (!session) return;
    const id = session;
    session = null;
    endButton.disabled = true;
    try {
      await api("DELETE", "/api/playground/sessions/" + id);
      status("Session ended: its conversation and voice notes are erased.", "pg-session-status");
    } catch (error) {
      status("Failed: " + error.message, "pg-session-status");
    }
  }
  endButton.addEventListener("click", endSession);
})();
