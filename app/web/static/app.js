/* Draw every chart of the page from its Vega-Lite spec (inline JSON, never evaluated as script),
   with vega's expression interpreter: the page's CSP allows no eval. Runs again after htmx
   swaps part of the page. */
(function () {
  "use strict";
  // Numbers in charts as the page's language writes them (d3-format locales).
  var LOCALES = {
    fr: { decimal: ",", thousands: "\u202f", grouping: [3], currency: ["", "\u00a0€"], percent: "\u202f%" },
    en: { decimal: ".", thousands: ",", grouping: [3], currency: ["$", ""] },
  };
  function draw(root) {
    if (typeof vegaEmbed === "undefined") return;
    (root || document).querySelectorAll(".vega[data-spec]").forEach(function (el) {
      if (el.dataset.drawn) return;
      var src = document.getElementById(el.dataset.spec);
      if (!src) return;
      el.dataset.drawn = "1";
      var spec = JSON.parse(src.textContent);
      vegaEmbed(el, spec, {
        renderer: "svg",
        actions: false,
        ast: true,
        expr: window.vegaInterpreter && window.vegaInterpreter.expressionInterpreter,
        formatLocale: LOCALES[document.documentElement.lang] || LOCALES.en,
      }).then(function () {
        el.dataset.ready = "1";
      }).catch(function (err) {
        el.dataset.failed = String(err);
        el.textContent = String(err);
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (e) { draw(e.target); });
})();
