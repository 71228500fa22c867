// The registration site's forms: small enhancements only; every page works without them.
(function () {
  "use strict";

  // Start keyboard and screen-reader users at the list of errors.
  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
  }

  // Show an address's days and times only when "only on the days and times I choose" is
  // selected (without JavaScript they are always shown, and ignored for "always").
  function syncWindows(block) {
    var chosen = block.querySelector('input[type="radio"][value="chosen"]');
    var windows = block.querySelector("fieldset.windows");
    if (chosen && windows) {
      windows.hidden = !chosen.checked;
    }
  }
  Array.prototype.forEach.call(document.querySelectorAll("fieldset.address-block"), syncWindows);
  document.addEventListener("change", function (event) {
    if (event.target.type === "radio") {
      var block = event.target.closest("fieldset.address-block");
      if (block) {
        syncWindows(block);
      }
    }
  });

  // "Nog een adres toevoegen" and "Nog een tijdvak" add a block in the page instead of a
  // round trip: a copy of the last one, renumbered and emptied. Without JavaScript the
  // buttons post the form and the server sends the page with one block more.
  var ATTRIBUTES = ["id", "name", "for", "aria-describedby", "data-schedule-for"];

  function renumber(root, from, to) {
    var elements = [root].concat(Array.prototype.slice.call(root.querySelectorAll("*")));
    elements.forEach(function (element) {
      ATTRIBUTES.forEach(function (name) {
        var value = element.getAttribute(name);
        if (value && value.indexOf(from) !== -1) {
          element.setAttribute(name, value.split(from).join(to));
        }
      });
    });
  }

  function empty(root) {
    Array.prototype.forEach.call(root.querySelectorAll(".errorlist"), function (list) {
      list.remove();
    });
    Array.prototype.forEach.call(root.querySelectorAll(".has-error"), function (element) {
      element.classList.remove("has-error");
    });
    Array.prototype.forEach.call(root.querySelectorAll("[aria-invalid]"), function (element) {
      element.removeAttribute("aria-invalid");
    });
    Array.prototype.forEach.call(root.querySelectorAll("input, select"), function (input) {
      if (input.type === "hidden" || input.type === "submit") {
        return;
      }
      if (input.type === "checkbox") {
        input.checked = false;
      } else if (input.type === "radio") {
        input.checked = input.value === "always";
      } else if (input.tagName === "SELECT") {
        var initial = input.querySelector("option[selected]") || input.options[0];
        input.value = input.name.slice(-8) === "-country" ? "NL" : initial.value;
      } else {
        input.value = "";
      }
    });
  }

  function focusFirst(root) {
    var first = root.querySelector("input:not([type=hidden]), select");
    if (first) {
      first.focus();
    }
  }

  var firstBlock = document.querySelector("fieldset.address-block");
  var form = firstBlock && firstBlock.closest("form");
  if (!form) {
    return;
  }

  function addWindow(button) {
    var windows = button.closest("fieldset.windows");
    var maxWindows = Number(windows.getAttribute("data-max-windows") || 3);
    var all = windows.querySelectorAll("fieldset.window");
    var last = all[all.length - 1];
    var count = windows.querySelector("input.window-count");
    if (!last || !count) {
      return false;
    }
    var index = all.length;
    var copy = last.cloneNode(true);
    renumber(copy, "-window-" + (index - 1) + "-", "-window-" + index + "-");
    copy.id = last.id.replace(/-window-\d+$/, "-window-" + index);
    var legend = windows.getAttribute("data-window-legend");
    if (legend) {
      copy.querySelector("legend").textContent = legend.replace("__n__", index + 1);
    }
    empty(copy);
    last.after(copy);
    count.value = String(index + 1);
    button.setAttribute("formaction", "#" + copy.id.replace(/-window-\d+$/, "-window-" + (index + 1)));
    if (index + 1 >= maxWindows) {
      button.closest(".add-window").hidden = true;
    }
    focusFirst(copy);
    return true;
  }

  function addAddress(button) {
    var count = document.getElementById("address_count");
    var blocks = form.querySelectorAll("fieldset.address-block");
    var last = blocks[blocks.length - 1];
    var max = Number(form.getAttribute("data-max-addresses") || 5);
    if (!count || !last) {
      return false;
    }
    var index = blocks.length;
    var copy = last.cloneNode(true);
    renumber(copy, "address-" + (index - 1) + "-", "address-" + index + "-");
    copy.id = "address-" + index;
    copy.setAttribute("data-index", String(index));
    // One window in the new address, as the server would send it.
    var windows = copy.querySelectorAll("fieldset.window");
    for (var i = windows.length - 1; i > 0; i--) {
      windows[i].remove();
    }
    var addWindowRow = copy.querySelector(".add-window");
    if (addWindowRow) {
      addWindowRow.hidden = false;
      var addWindowButton = addWindowRow.querySelector("button");
      addWindowButton.value = "add_window-" + index;
      addWindowButton.setAttribute("formaction", "#address-" + index + "-window-1");
    }
    var windowCount = copy.querySelector("input.window-count");
    if (windowCount) {
      windowCount.value = "1";
    }
    var legend = form.getAttribute("data-address-legend");
    if (legend) {
      copy.querySelector("legend").textContent = legend.replace("__n__", index + 1);
    }
    empty(copy);
    last.after(copy);
    syncWindows(copy);
    count.value = String(index + 1);
    button.setAttribute("formaction", button.getAttribute("formaction").replace(/#address-\d+$/, "#address-" + (index + 1)));
    if (index + 1 >= max) {
      button.closest(".add-address").hidden = true;
    }
    focusFirst(copy);
    return true;
  }

  form.addEventListener("click", function (event) {
    var button = event.target.closest("button[name=action]");
    if (!button) {
      return;
    }
    var done = false;
    if (button.value === "add_address") {
      done = addAddress(button);
    } else if (button.value.indexOf("add_window-") === 0) {
      done = addWindow(button);
    }
    if (done) {
      event.preventDefault();
    }
  });
})();
