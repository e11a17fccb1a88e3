// The govflow modeler: bpmn-js with a Chinese palette, a side form for govflow's task
// properties and timers, draft saving with the server's check, and deploy.
(function () {
  var box = document.getElementById("modeler");
  if (!box || !window.BpmnJS) { return; }
  var SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core";
  var HUMAN = ["bpmn:UserTask", "bpmn:ManualTask"];
  var words = box.dataset.lang === "zh" ? (window.GOVFLOW_MODELER_ZH || {}) : {};
  function translate(template, replacements) {
    var text = words[template] || template;
    return text.replace(/{([^}]+)}/g, function (_, key) {
      return (replacements || {})[key] !== undefined ? replacements[key] : "{" + key + "}";
    });
  }
  var modeler = new window.BpmnJS({
    container: box, keyboard: { bindTo: document },
    additionalModules: [{ translate: ["value", translate] }]
  });
  var modeling = modeler.get("modeling"), moddle = modeler.get("moddle");
  var canvas = modeler.get("canvas"), registry = modeler.get("elementRegistry");
  var csrf = document.querySelector("meta[name=csrf-token]").content;
  var status = document.getElementById("status");
  var current = null, marked = [];

  function say(text) { status.textContent = text; }

  // -- govflow properties (spiffworkflow:properties) -------------------------------------
  function holderOf(bo, create) {
    var ext = bo.extensionElements;
    if (!ext && !create) { return null; }
    ext = ext || moddle.create("bpmn:ExtensionElements", { values: [] });
    ext.values = ext.values || [];
    var holder = ext.values.filter(function (v) { return v.$type === "spiffworkflow:properties"; })[0];
    if (!holder && create) {
      holder = moddle.createAny("spiffworkflow:properties", SPIFF, { $children: [] });
      ext.values.push(holder);
    }
    return holder ? { ext: ext, holder: holder } : null;
  }
  function readProps(bo) {
    var found = {}, h = holderOf(bo, false);
    ((h && h.holder.$children) || []).forEach(function (p) { found[p.name] = p.value; });
    return found;
  }
  function writeProps(element, values) {
    var h = holderOf(element.businessObject, true);
    var kept = (h.holder.$children || []).filter(function (p) { return !(p.name in values); });
    Object.keys(values).forEach(function (name) {
      if (values[name]) {
        kept.push(moddle.createAny("spiffworkflow:property", SPIFF, { name: name, value: values[name] }));
      }
    });
    h.holder.$children = kept;
    if (!kept.length) { h.ext.values.splice(h.ext.values.indexOf(h.holder), 1); }
    modeling.updateProperties(element, { extensionElements: h.ext });
  }
  function timerOf(bo) {
    var defs = (bo.eventDefinitions || []).filter(function (d) { return d.$type === "bpmn:TimerEventDefinition"; });
    return defs[0] || null;
  }
  function timerKind(def) {
    return ["timeDate", "timeDuration", "timeCycle"].filter(function (k) { return def[k]; })[0] || "timeDate";
  }

  // -- the side form ----------------------------------------------------------------------
  var form = document.getElementById("props");
  function field(id) { return document.getElementById(id); }
  function show(element) {
    current = element;
    if (!element || element.type === "bpmn:Process" || element.type === "label") { form.hidden = true; return; }
    var bo = element.businessObject, human = HUMAN.indexOf(element.type) >= 0, timer = timerOf(bo);
    form.hidden = false;
    field("props-title").textContent = bo.name || translate(element.type.replace("bpmn:", "").replace(/([a-z])([A-Z])/g, "$1 $2").replace(/^(\w)(.*)$/, function (_, a, b) { return a + b.toLowerCase(); }));
    field("p-name").value = bo.name || "";
    field("human-fields").hidden = !human;
    field("timer-fields").hidden = !timer;
    if (human) {
      var props = readProps(bo);
      form.querySelectorAll("[data-prop]").forEach(function (input) { input.value = props[input.dataset.prop] || ""; });
      field("p-instructions").value = (bo.documentation && bo.documentation[0] && bo.documentation[0].text) || "";
    }
    if (timer) { var kind = timerKind(timer); field("p-timer").value = (timer[kind] && timer[kind].body) || ""; }
  }
  function apply() {
    if (!current) { return; }
    var bo = current.businessObject;
    modeling.updateLabel(current, field("p-name").value);
    if (HUMAN.indexOf(current.type) >= 0) {
      var values = {};
      form.querySelectorAll("[data-prop]").forEach(function (input) { values[input.dataset.prop] = input.value.trim(); });
      writeProps(current, values);
      var text = field("p-instructions").value.trim();
      modeling.updateProperties(current, { documentation: text ? [moddle.create("bpmn:Documentation", { text: text })] : [] });
    }
    var timer = timerOf(bo);
    if (timer) {
      var change = {};
      change[timerKind(timer)] = moddle.create("bpmn:FormalExpression", { body: field("p-timer").value.trim() });
      modeling.updateModdleProperties(current, timer, change);
    }
    say("");
  }
  field("apply").addEventListener("click", apply);
  modeler.on("selection.changed", function (e) { show(e.newSelection.length === 1 ? e.newSelection[0] : null); });

  // -- problems ---------------------------------------------------------------------------
  function listProblems(problems) {
    marked.forEach(function (id) { canvas.removeMarker(id, "gf-lint-error"); });
    marked = [];
    var list = document.getElementById("problems");
    list.innerHTML = "";
    problems.forEach(function (p) {
      var item = document.createElement("li"), shape = p.element && registry.get(p.element);
      item.textContent = (shape ? (shape.businessObject.name || p.element) + ": " : "") + p.message;
      item.dataset.element = p.element || "";
      if (shape) {
        canvas.addMarker(p.element, "gf-lint-error");
        marked.push(p.element);
        item.className = "link";
        item.addEventListener("click", function () { modeler.get("selection").select(shape); });
      }
      list.appendChild(item);
    });
    box.dataset.problems = String(problems.length);
  }
  function post(url, body, type) {
    return fetch(url, { method: "POST", credentials: "same-origin", body: body,
                        headers: { "Content-Type": type, "X-CSRFToken": csrf } });
  }
  function save() {
    apply();
    return modeler.saveXML({ format: true }).then(function (out) {
      return post(box.dataset.save, out.xml, "application/xml");
    }).then(function (r) {
      if (!r.ok) { throw new Error(r.status); }
      return r.json();
    }).then(function (found) {
      listProblems(found.problems);
      say(found.problems.length ? box.dataset.msgProblems : box.dataset.msgSaved);
      return found.problems;
    });
  }
  field("save").addEventListener("click", function () {
    save().catch(function () { say(box.dataset.msgFailed); });
  });
  field("deploy").addEventListener("click", function () {
    save().then(function (problems) {
      if (problems.length) { return; }
      return post(box.dataset.deploy, "", "text/plain").then(function (r) { return r.json(); }).then(function (found) {
        listProblems(found.problems || []);
        if (found.version) { say(box.dataset.msgDeployed.replace("{v}", found.version)); box.dataset.deployed = found.version; }
      });
    }).catch(function () { say(box.dataset.msgFailed); });
  });
  field("download").addEventListener("click", function () {
    modeler.saveXML({ format: true }).then(function (out) {
      var link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([out.xml], { type: "application/xml" }));
      link.download = box.dataset.file;
      link.click();
    });
  });

  fetch(box.dataset.src, { credentials: "same-origin" })
    .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); })
    .then(function (xml) { return modeler.importXML(xml); })
    .then(function () { canvas.zoom("fit-viewport"); box.dataset.ready = "true"; })
    .catch(function () { box.dataset.ready = "error"; say(box.dataset.msgFailed); });
})();
