// ICANS episode form: offer only the encephalopathy tool that the age at onset asks for (ICE over
// 12 years, CAPD for children aged 12 or under), say so, and fit the score's label and limits to
// it. The age at onset is the age at enrolment plus the whole years from enrolment to onset
// (safety/grading/icans.py age_at_onset). Without this script the form offers both tools and
// the server refuses the wrong one; the server checks either way.
(function () {
  var form = document.getElementById("icans-episode-form");
  var settingsElement = document.getElementById("icans-tool-settings");
  if (!form || !settingsElement) { return; }
  var settings = JSON.parse(settingsElement.textContent);
  var onset = form.elements.onset_date;
  var tool = form.elements.tool;
  var score = form.elements.tool_score;
  var unable = form.elements.unable_to_perform;
  var advice = document.getElementById("icans-tool-advice");
  var scoreLabel = form.querySelector("label[for='" + score.id + "']");
  var allOptions = Array.from(tool.options).map(function (option) { return option.cloneNode(true); });

  function parseDate(text) {
    var match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text || "");
    return match ? [parseInt(match[1], 10), parseInt(match[2], 10), parseInt(match[3], 10)] : null;
  }

  // Whole years from enrolment to onset: a year is complete on the enrolment anniversary
  // (month and day compared, so 29 February completes on 1 March in common years).
  function ageAtOnset(onsetDate) {
    var enrolled = parseDate(settings.enrolmentDate);
    var years = onsetDate[0] - enrolled[0];
    if (onsetDate[1] < enrolled[1] || (onsetDate[1] === enrolled[1] && onsetDate[2] < enrolled[2])) {
      years -= 1;
    }
    return years < 0 ? null : settings.ageAtEnrolment + years;
  }

  function offer(values) {
    var chosen = tool.value;
    tool.replaceChildren.apply(tool, allOptions.filter(function (option) {
      return values.indexOf(option.value) !== -1;
    }).map(function (option) { return option.cloneNode(true); }));
    if (values.indexOf(chosen) !== -1) { tool.value = chosen; }
  }

  function fitScore() {
    var limits = settings.tools[tool.value];
    if (scoreLabel && scoreLabel.firstChild) {
      scoreLabel.firstChild.textContent = limits ? limits.label : scoreLabel.dataset.generic;
    }
    if (limits) { score.max = limits.max; }
  }

  function update() {
    var onsetDate = parseDate(onset.value);
    var age = onsetDate ? ageAtOnset(onsetDate) : null;
    if (!onsetDate) {
      offer(allOptions.map(function (option) { return option.value; }));
      advice.textContent = settings.withoutOnset;
    } else if (age === null) {
      offer(allOptions.map(function (option) { return option.value; }));
      advice.textContent = settings.beforeEnrolment;
    } else {
      var matching = age > settings.iceOverAge ? "ice" : "capd";
      offer([matching]);
      advice.textContent = settings.tools[matching].advice.replace("%(age)s", age);
    }
    fitScore();
  }

  function fitUnable() {
    score.disabled = unable.checked;
    if (unable.checked) { score.value = ""; }
  }

  if (scoreLabel && scoreLabel.firstChild) { scoreLabel.dataset.generic = scoreLabel.firstChild.textContent; }
  onset.addEventListener("input", update);
  onset.addEventListener("change", update);
  tool.addEventListener("change", fitScore);
  unable.addEventListener("change", fitUnable);
  update();
  fitUnable();
})();
