// Buttons marked data-copy="#input" copy that input's text (no inline handlers: CSP).
// Without JavaScript the link stays selectable in its read-only box.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button) {
    return;
  }
  var input = document.querySelector(button.getAttribute("data-copy"));
  input.select();
  var done = function () {
    button.textContent = button.getAttribute("data-copied");
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(input.value).then(done);
  } else if (document.execCommand("copy")) {
    done();
  }
});
