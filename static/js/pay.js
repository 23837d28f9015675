// The pay form: when the client picks another way to pay (or unticks "Use my balance
// first"), say again what comes from where and what the button will charge. The texts
// come from the server in data attributes; without this script the form still works and
// the server-rendered summary describes the initial choice.
(function () {
  function refresh(form) {
    var chosen = form.querySelector("input[name=pay_with]:checked");
    if (!chosen) return;
    var box = form.querySelector("[data-use-balance]");
    var combined = box && box.checked && chosen.dataset.combined;
    var button = form.querySelector("[data-pay-button]");
    var text = combined ? chosen.dataset.buttonCombined : chosen.dataset.button;
    // No text: the method's limits refuse this split; the summary says why.
    button.textContent = text || button.dataset.unavailable;
    button.disabled = !text;
    form.querySelector("[data-pay-summary]").textContent =
      combined ? chosen.dataset.summaryCombined : chosen.dataset.summary;
    if (box) box.closest(".field").hidden = !chosen.dataset.combined;
  }
  function wire(form) {
    if (form.dataset.payWired) return;
    form.dataset.payWired = "1";
    form.addEventListener("change", function () { refresh(form); });
    refresh(form);
  }
  function all() { document.querySelectorAll("[data-pay-form]").forEach(wire); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", all);
  else all();
})();
