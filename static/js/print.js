// Buttons marked data-print open the browser's print dialogue (no inline handlers: CSP).
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) {
    window.print();
  }
});

// The printed report's running header and footer (static/css/print.css shows them in the page
// margins of every page). @page margin boxes cannot read the page's text, so the texts in
// data-running-* become CSS strings in custom properties of the root element, which the page
// context inherits. CSSOM, not a style attribute in the HTML: the CSP allows no inline style.
(function () {
  var report = document.querySelector("[data-running-title]");
  if (!report) {
    return;
  }
  function cssString(text) {
    return '"' + text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\s+/g, " ") + '"';
  }
  var texts = { title: "--print-title", date: "--print-date", printed: "--print-printed" };
  Object.keys(texts).forEach(function (key) {
    var name = "running" + key.charAt(0).toUpperCase() + key.slice(1);
    document.documentElement.style.setProperty(texts[key], cssString(report.dataset[name] || ""));
  });
  // Paper cannot open a <details>: open them all for printing (print.css does it too where
  // the browser supports ::details-content).
  window.addEventListener("beforeprint", function () {
    report.querySelectorAll("details:not([open])").forEach(function (details) {
      details.setAttribute("open", "");
      details.setAttribute("data-opened-for-print", "");
    });
  });
  window.addEventListener("afterprint", function () {
    report.querySelectorAll("details[data-opened-for-print]").forEach(function (details) {
      details.removeAttribute("open");
      details.removeAttribute("data-opened-for-print");
    });
  });
})();
