// A character counter under every text field that has a maximum length and the texts to
// say it in (data-counter-left, data-counter-over; web/forms.py counter_attrs). An
// enhancement only: without it the field, its maxlength and the server's check work as they
// are.
//
// What a sighted user reads changes at every key; a screen reader hears it through a
// separate polite live region, once typing has paused, and the field is described by the
// visible counter (aria-describedby), so focusing it says how much room is left.
(function () {
  "use strict";

  var PAUSE_MS = 1000;

  function say(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, name) {
      return name in values ? String(values[name]) : all;
    });
  }

  function length(text) {
    // As the server counts: code points, with a line break as one character.
    return Array.from(text.replace(/\r\n/g, "\n")).length;
  }

  function attach(field) {
    var max = parseInt(field.getAttribute("maxlength"), 10);
    if (!field.id || !(max > 0)) return;

    var visible = document.createElement("p");
    visible.className = "help char-counter";
    visible.id = field.id + "_counter";
    visible.setAttribute("aria-hidden", "true");

    var status = document.createElement("p");
    status.className = "visually-hidden";
    status.id = field.id + "_counter_status";
    status.setAttribute("aria-live", "polite");

    field.insertAdjacentElement("afterend", status);
    field.insertAdjacentElement("afterend", visible);
    var describedBy = (field.getAttribute("aria-describedby") || "").split(/\s+/);
    describedBy.push(visible.id);
    field.setAttribute("aria-describedby", describedBy.filter(Boolean).join(" "));

    var timer = null;
    function text() {
      var used = length(field.value);
      if (used > max) {
        return say(field.dataset.counterOver, { over: used - max, max: max });
      }
      return say(field.dataset.counterLeft, { left: max - used, max: max });
    }
    function update() {
      var message = text();
      visible.textContent = message;
      visible.classList.toggle("error", length(field.value) > max);
      window.clearTimeout(timer);
      timer = window.setTimeout(function () { status.textContent = message; }, PAUSE_MS);
    }
    visible.textContent = text();
    field.addEventListener("input", update);
  }

  document
    .querySelectorAll("textarea[data-counter-left], input[data-counter-left]")
    .forEach(attach);
})();
