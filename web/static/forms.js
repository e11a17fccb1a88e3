// Marks a field required as soon as the choice that requires it is made (for example the
// reasons once "refuse" is chosen). The server still checks every rule; this only shows it.
(function () {
  function chosen(form, name) {
    var values = [];
    form.querySelectorAll("[name='" + name + "']").forEach(function (input) {
      if (input.type === "radio") { if (input.checked) { values.push(input.value); } }
      else if (input.type === "checkbox") { values.push(input.checked ? "true" : "false"); }
      else { values.push(input.value); }
    });
    return values;
  }
  function refresh(form) {
    form.querySelectorAll("[data-required-when]").forEach(function (box) {
      var rules = JSON.parse(box.getAttribute("data-required-when"));
      var needed = rules.some(function (rule) {
        return chosen(form, rule[0]).indexOf(rule[1]) !== -1;
      });
      var mark = box.querySelector(".req.when");
      if (mark) { mark.hidden = !needed; }
      box.classList.toggle("now-required", needed);
      box.querySelectorAll("input, select, textarea").forEach(function (input) {
        if (input.type !== "checkbox" && input.type !== "radio") {
          input.setAttribute("aria-required", needed ? "true" : "false");
        }
      });
    });
  }
  document.querySelectorAll("form").forEach(function (form) {
    if (!form.querySelector("[data-required-when]")) { return; }
    form.addEventListener("change", function () { refresh(form); });
    form.addEventListener("input", function () { refresh(form); });
    refresh(form);
  });
})();
