// The decision table editor: dmn-js opens the table in force; deploying sends it back.
(function () {
  var box = document.getElementById("dmn");
  if (!box || !window.DmnJS) { return; }
  var editor = new window.DmnJS({ container: box, common: { keyboard: { bindTo: window } } });
  var status = document.getElementById("status");
  var csrf = document.querySelector("meta[name=csrf-token]").content;
  fetch(box.dataset.src, { credentials: "same-origin" })
    .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); })
    .then(function (xml) { return editor.importXML(xml); })
    .then(function () {
      var table = editor.getViews().filter(function (v) { return v.type === "decisionTable"; })[0];
      if (table) { editor.open(table); }
      box.dataset.ready = "true";
    })
    .catch(function () { box.dataset.ready = "error"; status.textContent = box.dataset.msgFailed; });
  document.getElementById("deploy-table").addEventListener("click", function () {
    editor.saveXML({ format: true }).then(function (out) {
      return fetch(box.dataset.save, { method: "POST", credentials: "same-origin", body: out.xml,
        headers: { "Content-Type": "application/xml", "X-CSRFToken": csrf } });
    }).then(function (r) { return r.json(); }).then(function (found) {
      var list = document.getElementById("problems");
      list.innerHTML = "";
      (found.problems || []).forEach(function (p) {
        var item = document.createElement("li");
        item.textContent = (p.element ? p.element + ": " : "") + p.message;
        list.appendChild(item);
      });
      if (found.deployed) {
        status.textContent = box.dataset.msgDeployed.replace("{list}", found.deployed.join(", "));
        box.dataset.deployed = found.deployed.join(",");
      } else if (found.error) {
        status.textContent = found.error.message;
      }
    }).catch(function () { status.textContent = box.dataset.msgFailed; });
  });
})();
