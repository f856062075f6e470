// The draft editor: load the draft, save a file (the server checks it and answers with the problems at their
// file and line), try a message on the live version and the draft, publish, roll back. Text from the server
// is set with textContent, never as HTML.
"use strict";
(function () {
  const csrf = document.body.dataset.csrf;
  const $ = (id) => document.getElementById(id);
  let state = null;

  async function api(method, url, body) {
    const headers = { "X-CSRF-Token": csrf };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(url, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    try { data = await response.json(); } catch (e) { /* not JSON */ }
    if (!response.ok) {
      const detail = data && data.detail;
      const error = new Error(typeof detail === "string" ? detail
        : detail && detail.problems ? "The draft does not pass the check: see the problems above."
          : "Refused (" + response.status + ").");
      error.status = response.status;
      error.problems = detail && detail.problems;
      throw error;
    }
    return data;
  }

  function numberLines() {
    const count = $("draft-text").value.split("\n").length;
    $("draft-lines").textContent = Array.from({ length: count }, (_, i) => String(i + 1)).join("\n");
  }

  function goToLine(file, line) {
    if (file !== $("draft-file").value) { $("draft-file").value = file; showFile(); }
    const area = $("draft-text");
    const lines = area.value.split("\n");
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    area.focus();
    area.setSelectionRange(start, start + (lines[line - 1] || "").length);
  }

  function showProblems(problems) {
    const list = $("problems");
    list.replaceChildren();
    for (const p of problems) {
      const li = document.createElement("li");
      li.className = "problem";
      const where = p.file + (p.line ? " line " + p.line : "");
      if (p.line) {
        const go = document.createElement("button");
        go.type = "button";
        go.textContent = where;
        go.addEventListener("click", () => goToLine(p.file, p.line));
        li.appendChild(go);
      } else {
        li.appendChild(document.createTextNode(where));
      }
      li.appendChild(document.createTextNode(": " + p.message));
      list.appendChild(li);
    }
    $("check-status").textContent = problems.length ? problems.length + " problem(s): the draft cannot be published"
      : "The draft passes the check.";
  }

  function showFile() {
    $("draft-text").value = state.files[$("draft-file").value] || "";
    numberLines();
  }

  function show(data) {
    const chosen = $("draft-file").value;
    state = data;
    $("versions").textContent = "Live version " + data.live + " · draft started from version " + data.base +
      " · kept versions " + data.versions.join(", ");
    const select = $("draft-file");
    select.replaceChildren();
    for (const name of Object.keys(data.files)) {
      const option = document.createElement("option");
      option.value = name;
      option.textContent = name;
      select.appendChild(option);
    }
    if (chosen && chosen in data.files) select.value = chosen;
    showFile();
    showProblems(data.problems);
  }

  async function run(statusId, action) {
    try { await action(); } catch (e) {
      if (e.problems) showProblems(e.problems);
      $(statusId).textContent = e.message;
    }
  }

  $("draft-text").addEventListener("input", numberLines);
  $("draft-text").addEventListener("scroll", () => { $("draft-lines").scrollTop = $("draft-text").scrollTop; });
  $("draft-file").addEventListener("change", showFile);
  $("draft-save").addEventListener("click", () => run("check-status", async () => {
    const name = $("draft-file").value;
    show(await api("PUT", "/api/drafts/files/" + encodeURIComponent(name), { text: $("draft-text").value }));
  }));
  $("draft-discard").addEventListener("click", () => run("check-status", async () => {
    await api("DELETE", "/api/drafts");
    show(await api("GET", "/api/drafts"));
  }));
  $("try-send").addEventListener("click", () => run("try-draft", async () => {
    $("try-live").textContent = "…";
    $("try-draft").textContent = "…";
    const answers = await api("POST", "/api/drafts/try", { message: $("try-message").value });
    $("try-live").textContent = answers.live.reply;
    $("try-draft").textContent = answers.draft.reply;
  }));
  $("draft-publish").addEventListener("click", () => run("publish-status", async () => {
    const done = await api("POST", "/api/drafts/publish", { base: state.base });
    $("publish-status").textContent = "Published version " + done.version + " (was " + done.previous + ").";
    show(await api("GET", "/api/drafts"));
  }));
  $("draft-rollback").addEventListener("click", () => run("publish-status", async () => {
    const done = await api("POST", "/api/drafts/rollback", { base: state.live });
    $("publish-status").textContent = "Rolled back to version " + done.version + " (was " + done.previous + ").";
    await api("DELETE", "/api/drafts");
    show(await api("GET", "/api/drafts"));
  }));
  run("check-status", async () => show(await api("GET", "/api/drafts")));
})();
