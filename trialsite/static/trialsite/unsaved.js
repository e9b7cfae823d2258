// Ask before leaving a form with unsaved changes (shared clinic computers, tablets), and send
// a form once: a second click on Save would post the page's old version again, which the site
// refuses as a change by someone else.
(function () {
  document.querySelectorAll("form[data-warn-unsaved]").forEach(function (form) {
    var dirty = false;
    var sent = false;
    form.addEventListener("input", function () { dirty = true; });
    form.addEventListener("change", function () { dirty = true; });
    form.addEventListener("submit", function (event) {
      if (sent) { event.preventDefault(); return; }
      sent = true;
      dirty = false;
      // After this event the browser collects the clicked button's value; disable the buttons
      // only then, so that value is still sent.
      window.setTimeout(function () {
        form.querySelectorAll("button[type=submit]").forEach(function (button) {
          button.disabled = true;
        });
      }, 0);
    });
    // A page brought back with the Back button may be saved again.
    window.addEventListener("pageshow", function (event) {
      if (!event.persisted) { return; }
      sent = false;
      form.querySelectorAll("button[type=submit]").forEach(function (button) {
        button.disabled = false;
      });
    });
    window.addEventListener("beforeunload", function (event) {
      if (dirty) { event.preventDefault(); event.returnValue = ""; }
    });
  });
})();
