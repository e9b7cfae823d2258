// Behaviour every page may ask for through a data attribute, so the templates hold no inline
// script or event handler: data-print prints the page when clicked; data-autosubmit sends the
// control's form when its value changes (the language selector).
(function () {
  document.querySelectorAll("[data-print]").forEach(function (control) {
    control.addEventListener("click", function () { window.print(); });
  });
  document.querySelectorAll("[data-autosubmit]").forEach(function (control) {
    control.addEventListener("change", function () { control.form.submit(); });
  });
})();
