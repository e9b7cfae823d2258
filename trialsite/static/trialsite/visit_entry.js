// Visit entry: running SLEDAI-2K total and band, PGA slider, "mark unanswered absent", the
// reason asked for each answer marked not done, BILAG-2004 grades typed by letter, and lab
// suggestions asked from the server (the rules live only in responses/scoring.py).
// The total shown here is a guide; the total saved is computed by the server.
(function () {
  var form = document.getElementById("visit-entry");
  if (!form) { return; }
  var bands = JSON.parse(document.getElementById("sledai-bands").textContent);
  var radios = form.querySelectorAll("input[type=radio][data-weight]");
  var names = Array.from(new Set(Array.from(radios).map(function (r) { return r.name; })));

  function updateTotal() {
    var total = 0, unanswered = 0, notDone = 0;
    names.forEach(function (name) {
      var checked = form.querySelector("input[name='" + name + "']:checked");
      if (!checked) { unanswered += 1; }
      else if (checked.value === "ND") { notDone += 1; }
      else if (checked.value === "1") { total += parseInt(checked.dataset.weight, 10); }
    });
    var band = bands.filter(function (b) { return total >= b[0]; }).pop();
    document.getElementById("sledai-total").textContent = total;
    document.getElementById("sledai-band").textContent = band ? band[1] : "";
    document.getElementById("sledai-unanswered").textContent = unanswered;
    document.getElementById("sledai-not-done").textContent = notDone;
  }
  radios.forEach(function (r) { r.addEventListener("change", updateTotal); });
  document.getElementById("mark-absent").addEventListener("click", function () {
    names.forEach(function (name) {
      if (!form.querySelector("input[name='" + name + "']:checked")) {
        form.querySelector("input[name='" + name + "'][value='0']").checked = true;
      }
    });
    form.dispatchEvent(new Event("change"));
    updateTotal();
  });
  updateTotal();

  var pga = document.getElementById("id_pga"), slider = document.getElementById("pga-slider");
  slider.addEventListener("input", function () { pga.value = parseFloat(slider.value).toFixed(2); });
  pga.addEventListener("input", function () { if (pga.value !== "") { slider.value = pga.value; } });

  // An answer marked not done asks for its reason; a PGA not done has no value.
  var pgaNotDone = document.getElementById("id_pga_not_done");
  function markedNotDone(name) {
    var control = form.elements[name];
    if (control.type === "checkbox") { return control.checked; }
    return control.value === "ND";  // a radio group's or a select's chosen value
  }
  function showNotDoneReasons() {
    form.querySelectorAll("[data-not-done-for]").forEach(function (box) {
      box.hidden = !markedNotDone(box.dataset.notDoneFor) && !box.querySelector(".is-invalid");
    });
    pga.disabled = slider.disabled = pgaNotDone.checked;
  }
  pgaNotDone.addEventListener("change", function () { if (pgaNotDone.checked) { pga.value = ""; } });
  form.addEventListener("change", showNotDoneReasons);
  showNotDoneReasons();

  // A BILAG-2004 grade is chosen by typing its letter (A to E), whatever the language of the
  // options' text; other keys keep the select's own behaviour ("n" for not answered / not done).
  form.querySelectorAll("select[name^='bilag_']").forEach(function (select) {
    select.addEventListener("keydown", function (event) {
      if (event.altKey || event.ctrlKey || event.metaKey || event.key.length !== 1) { return; }
      var grade = event.key.toUpperCase();
      var option = Array.from(select.options).filter(function (o) { return o.value === grade; })[0];
      if (!option) { return; }
      event.preventDefault();
      if (select.value !== grade) {
        select.value = grade;
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
  });

  function showSuggestions(fields, labels) {
    form.querySelectorAll("[data-suggestion]").forEach(function (badge) {
      badge.classList.toggle("d-none", fields.indexOf(badge.dataset.suggestion) === -1);
    });
    if (labels) { document.getElementById("suggestion-list").textContent = labels.join(", ") || "-"; }
  }
  showSuggestions(JSON.parse(document.getElementById("initial-suggestions").textContent));

  var labs = document.getElementById("labs"), pending = null;
  labs.addEventListener("input", function () {
    clearTimeout(pending);
    pending = setTimeout(function () {
      var params = new URLSearchParams();
      labs.querySelectorAll("input, select").forEach(function (el) { params.append(el.name, el.value); });
      fetch(form.dataset.suggestUrl + "?" + params.toString(), { credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (data) { showSuggestions(data.suggested, data.labels); });
    }, 300);
  });
})();
