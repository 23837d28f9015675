// A ticket's answer form in the staff panel (templates/admin/support/ticket/_answer.html):
//   #id_replying   tells the presence poll whether this page is writing an answer; a change
//                  polls at once ("replying-changed") so colleagues see it without waiting
//   [data-js-hide] the template picker's "Insert" button, for browsers without JavaScript:
//                  with it, choosing a template fills the text at once (htmx)
(function () {
  function sync() {
    var flag = document.getElementById("id_replying");
    var body = document.getElementById("id_body");
    if (!flag || !body) return;
    var now = body.value.trim() ? "1" : "0";
    if (flag.value === now) return;
    flag.value = now;
    if (window.htmx) window.htmx.trigger(document.body, "replying-changed");
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-js-hide]").forEach(function (element) {
      element.hidden = true;
    });
    sync();
  });
  document.addEventListener("input", function (event) {
    if (event.target.id === "id_body") sync();
  });
  document.addEventListener("htmx:afterSwap", function () {
    // A template filled the text in: the picker is ready to add another one.
    var picker = document.getElementById("id_answer_template");
    if (picker) picker.value = "";
    sync();
  });
})();
