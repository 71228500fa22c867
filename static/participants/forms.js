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
  Array.prototype.forEach.call(document.querySelectorAll("fieldset.address-block"), function (block) {
    syncWindows(block);
    block.addEventListener("change", function (event) {
      if (event.target.type === "radio") {
        syncWindows(block);
      }
    });
  });

  // "Add an address" shows the next hidden block instead of a round trip to the server.
  var add = document.getElementById("add-address");
  var count = document.getElementById("address_count");
  if (add && count) {
    add.addEventListener("click", function (event) {
      var next = document.querySelector("fieldset.address-block[hidden]");
      if (!next) {
        return;
      }
      event.preventDefault();
      next.hidden = false;
      count.value = String(Number(count.value) + 1);
      if (!document.querySelector("fieldset.address-block[hidden]")) {
        add.hidden = true;
      }
      var first = next.querySelector("input:not([type=hidden]), select");
      if (first) {
        first.focus();
      }
    });
  }
})();
