// Behaviour the templates ask for with data attributes, so that no page needs an inline
// handler (the Content-Security-Policy allows scripts from our own files only):
//   <tr data-href="/x/">          the whole row opens /x/ (links and buttons in it still win)
//   <form data-confirm="Sure?">   the browser asks before the form is sent
//   <a data-back href="/">        goes back a page when there is one, else to its href
(function () {
  document.addEventListener("click", function (event) {
    var back = event.target.closest("a[data-back]");
    if (back && window.history.length > 1) {
      event.preventDefault();
      window.history.back();
      return;
    }
    if (event.target.closest("a, button, input, select, textarea, label, form")) return;
    var row = event.target.closest("[data-href]");
    if (row) window.location.href = row.dataset.href;
  });
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
  }, true);
})();
