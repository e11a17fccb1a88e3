// Draw the case's BPMN diagram with bpmn-js and mark the completed path and waiting steps.
(function () {
  var box = document.getElementById("diagram");
  if (!box || !window.BpmnJS) { return; }
  var viewer = new window.BpmnJS({ container: box });
  var zh = document.documentElement.lang === "zh-CN";

  // Zoom in, zoom out and fit, above the diagram (the mouse wheel zooms too).
  function addZoomControls(canvas) {
    var bar = document.createElement("div");
    bar.className = "diagram-zoom";
    [["+", zh ? "放大" : "Zoom in", function () { canvas.zoom(canvas.zoom() * 1.25); }],
     ["−", zh ? "缩小" : "Zoom out", function () { canvas.zoom(canvas.zoom() / 1.25); }],
     ["⤢", zh ? "适应窗口" : "Fit to window", function () { canvas.zoom("fit-viewport"); }]
    ].forEach(function (item) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = item[0];
      button.title = item[1];
      button.setAttribute("aria-label", item[1]);
      button.addEventListener("click", item[2]);
      bar.appendChild(button);
    });
    box.parentNode.insertBefore(bar, box);
  }
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
        addZoomControls(canvas);
        box.dataset.ready = "true";
      });
    })
    .catch(function () {
      box.textContent = box.dataset.error;
      box.dataset.ready = "error";
    });
})();
