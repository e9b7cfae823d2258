// Follows a background job (an import, a schedule change) on its page while a task works on it:
// asks the job's progress (data-progress-url, JSON) every data-poll-interval milliseconds, moves
// the <progress> bar and its text, and reloads the page once the step is over, which then shows
// the preview, the summary or the failure. Without script the page refreshes itself (a
// <noscript> refresh).
// It stops asking after data-poll-limit milliseconds, so that a page left open does not keep an
// idle session alive (its requests extend it); the Reload link then asks again.
(function () {
  var section = document.querySelector("[data-progress-url]");
  if (!section) { return; }
  var bar = section.querySelector("progress");
  var state = section.querySelector("[data-progress-state]");
  var rows = section.querySelector("[data-progress-rows]");
  var interval = parseInt(section.getAttribute("data-poll-interval"), 10) || 1000;
  var stopAt = Date.now() + (parseInt(section.getAttribute("data-poll-limit"), 10) || 900000);

  function show(job) {
    state.textContent = job.state_label + "\u2026";
    if (job.rows_total) {
      bar.max = job.rows_total;
      bar.value = job.rows_done;
      bar.textContent = job.percent + "%";
      rows.textContent = job.rows_label;
    }
  }

  function poll() {
    if (Date.now() > stopAt) { return; }
    fetch(section.getAttribute("data-progress-url"), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (job) {
        if (!job.active) {
          window.location.reload();
          return;
        }
        show(job);
        window.setTimeout(poll, interval);
      })
      .catch(function () {
        // The server or the network is down for a moment: ask again, less often.
        window.setTimeout(poll, interval * 5);
      });
  }

  window.setTimeout(poll, interval);
})();
