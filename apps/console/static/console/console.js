// The console's small behaviours, loaded as a file (the Content-Security-Policy
// allows no inline script).

// Buttons that ask before they act: <button data-confirm="Are you sure?"> (also those
// a page puts in later: the runs pages refresh their content live).
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("[data-confirm]");
  if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
});

// Copy a value shown once: <button data-copy="#selector">.
document.querySelectorAll("[data-copy]").forEach(function (button) {
  button.addEventListener("click", function () {
    var text = document.querySelector(button.dataset.copy).textContent;
    navigator.clipboard.writeText(text).then(function () { button.textContent = "Copied"; });
  });
});

// Say that a slow action is running: <form data-busy="Verifying…">.
document.querySelectorAll("form[data-busy]").forEach(function (form) {
  form.addEventListener("submit", function () {
    var button = form.querySelector("button");
    button.disabled = true;
    button.textContent = form.dataset.busy;
  });
});

// Credential forms: show the secret fields of the chosen kind only
// (<form data-secret-form> with inputs marked data-kind="bearer" ...).
document.querySelectorAll("form[data-secret-form]").forEach(function (form) {
  var kind = form.querySelector("select[name=kind]");
  if (!kind) return;
  function show() {
    form.querySelectorAll("[data-kind]").forEach(function (input) {
      var box = input.closest(".field") || input;
      box.hidden = input.dataset.kind !== kind.value;
    });
  }
  kind.addEventListener("change", show);
  show();
});
