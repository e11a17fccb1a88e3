// Draw the case's BPMN diagram with bpmn-js and mark the completed path and waiting steps.
(function () {
  var box = document.getElementById("diagram");
  if (!box || !window.BpmnJS) { return; }
  var viewer = new window.BpmnJS({ container: box });
  fetch(box.dataset.src, { credentials: "same-origin" })
    .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
    .then(function (found) {
      return viewer.importXML(found.xml).then(function () {
        var canvas = viewer.get("canvas");
        var registry = viewer.get("elementRegistry");
        found.completed.forEach(function (id) {
          if (registry.get(id)) { canvas.addMarker(id, "gf-done"); }
        });
        found.active.forEach(function (id) {
          if (registry.get(id)) { canvas.addMarker(id, "gf-active"); }
        });
        canvas.zoom("fit-viewport");
        box.dataset.ready = "true";
      });
    })
    .catch(function () {
      box.textContent = box.dataset.error;
      box.dataset.ready = "error";
    });
})();
