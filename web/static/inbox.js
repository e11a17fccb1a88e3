// Small enhancement: a "select all" box for bulk claiming. The page works without it.
(function () {
  var head = document.querySelector("table.inbox th.sel");
  if (!head) { return; }
  var all = document.createElement("input");
  all.type = "checkbox";
  all.setAttribute("aria-label", head.textContent.trim());
  all.addEventListener("change", function () {
    document.querySelectorAll("table.inbox td.sel input[type=checkbox]").forEach(function (box) {
      box.checked = all.checked;
    });
  });
  head.appendChild(all);
})();
