// The admin: accessible names that Django's own widgets leave out, added as they appear
// (the filter boxes of SelectFilter2 are drawn on "load", select2 on "ready").
(function () {
  "use strict";

  function text(element) {
    return element ? element.textContent.replace(/\s+/g, " ").replace(/[:\s]+$/, "").trim() : "";
  }

  function fieldLabel(element) {
    var row = element.closest(".form-row, .fieldBox, td");
    if (!row) {
      return "";
    }
    var label = row.querySelector("label");
    return text(label);
  }

  function fix(root) {
    // The filter boxes' magnifying glass: a span with aria-label and no role (axe
    // aria-prohibited-attr). It is an image with a name.
    root.querySelectorAll(".help-tooltip[aria-label]:not([role])").forEach(function (icon) {
      icon.setAttribute("role", "img");
    });

    // A date and time field (SplitDateTime): the label names neither input; the words
    // before each ("Datum:", "Tijd:") are plain text.
    root.querySelectorAll("p.datetime").forEach(function (paragraph) {
      var name = fieldLabel(paragraph);
      var words = "";
      paragraph.childNodes.forEach(function (node) {
        if (node.nodeType === Node.TEXT_NODE && node.textContent.trim()) {
          words = node.textContent.replace(/[:\s]+$/, "").trim();
        } else if (node.nodeName === "INPUT" && !node.hasAttribute("aria-label")) {
          node.setAttribute("aria-label", name ? name + ": " + words : words);
        }
      });
    });

    // An autocomplete field (select2): the combobox is named by what it shows, which is
    // nothing while it is empty. Name it by the field's label as well.
    root.querySelectorAll("select.admin-autocomplete[id]").forEach(function (select) {
      var label = document.querySelector('label[for="' + select.id + '"]');
      var box = select.parentNode.querySelector(".select2-selection");
      if (!label || !box) {
        return;
      }
      if (!label.id) {
        label.id = select.id + "_label";
      }
      var shown = box.querySelector(".select2-selection__rendered");
      if (shown && shown.id && box.getAttribute("aria-labelledby") === shown.id) {
        box.setAttribute("aria-labelledby", label.id + " " + shown.id);
        shown.setAttribute("aria-labelledby", label.id);
      }
    });
  }

  function start() {
    fix(document);
    new MutationObserver(function () {
      fix(document);
    }).observe(document.body, { childList: true, subtree: true });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
