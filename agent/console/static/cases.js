// The regression cases page: start a run, poll its progress, show each case's verdict and reason.
// Text from the server is set with textContent, never as HTML.
"use strict";
(function () {
  const button = document.getElementById("run-cases");
  if (!button) return;
  const csrf = document.body.dataset.csrf;
  const status = document.getElementById("run-status");

  function show(run) {
    for (const r of run.results) {
      const row = document.querySelector(`tr[data-case="${CSS.escape(r.name)}"]`);
      if (!row) continue;
      const cell = row.querySelector(".verdict");
      cell.textContent = `${r.verdict} (${r.passed_runs}/${r.runs})` + (r.reason ? `: ${r.reason}` : "");
      cell.className = `verdict ${r.verdict}`;
    }
    if (run.error) status.textContent = run.error;
    else if (run.running) status.textContent = `Running… ${run.done} of ${run.total} cases done`;
    else if (run.total) {
      const failed = run.results.filter((r) => r.verdict === "fail").length;
      status.textContent = `Done: ${run.total - failed} passed, ${failed} failed.`;
    }
    button.disabled = run.running;
  }

  async function poll() {
    const response = await fetch("/api/cases", { credentials: "same-origin" });
    if (!response.ok) { status.textContent = "Could not read the results."; return; }
    const run = (await response.json()).run;
    show(run);
    if (run.running) setTimeout(poll, 500);
  }

  button.addEventListener("click", async () => {
    button.disabled = true;
    status.textContent = "Starting…";
    const response = await fetch("/api/cases/run", {
      method: "POST", headers: { "X-CSRF-Token": csrf }, credentials: "same-origin",
    });
    if (!response.ok) {
      let detail = "refused";
      try { detail = (await response.json()).detail; } catch (e) { /* not JSON */ }
      status.textContent = typeof detail === "string" ? detail : "refused";
      button.disabled = false;
      return;
    }
    show(await response.json());
    setTimeout(poll, 300);
  });
  poll();
})();
