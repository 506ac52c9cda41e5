// llmload report: legend toggles, and a record of script errors (shown, and
// left in data-errors for headless checks). The charts are static SVG.
(function () {
  var errors = [];
  window.addEventListener("error", function (e) {
    errors.push(String(e.message));
    var el = document.getElementById("errors");
    el.hidden = false;
    el.textContent = "Script errors: " + errors.join("; ");
    document.body.setAttribute("data-errors", String(errors.length));
  });
  document.addEventListener("click", function (e) {
    var key = e.target.closest ? e.target.closest("button.key") : null;
    if (!key) return;
    var name = key.getAttribute("data-series");
    var groups = key.closest("figure").querySelectorAll("g.series");
    for (var i = 0; i < groups.length; i++) {
      if (groups[i].getAttribute("data-series") === name) groups[i].classList.toggle("off");
    }
    key.classList.toggle("off");
  });
  document.body.setAttribute("data-charts", String(document.querySelectorAll("figure.chart").length));
  document.body.setAttribute("data-rendered", "ok");
})();
