// The error summary of an entry form (templates/trialsite/includes/error_summary.html): it takes
// the focus when the page loads, so it is read out first; each of its links moves the focus to
// the field it names (scrolled to the middle of the screen, clear of the sticky SLEDAI-2K bar).
(function () {
  var summary = document.getElementById("error-summary");
  if (!summary) { return; }
  summary.querySelectorAll("a[href^='#']").forEach(function (link) {
    link.addEventListener("click", function (event) {
      var field = document.getElementById(decodeURIComponent(link.hash.slice(1)));
      if (!field) { return; }
      event.preventDefault();
      field.scrollIntoView({ block: "center" });
      field.focus({ preventScroll: true });
    });
  });
  summary.focus();
})();
