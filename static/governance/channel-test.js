// The channel settings screen's test push: the web app on this device names its own push
// subscription (same origin, the app's service-worker scope); the server sends a test
// notification to the device with that endpoint. Without the app's notifications on this
// device, the screen says so instead of posting.
(function () {
  "use strict";
  var form = document.getElementById("push-test-form");
  if (!form) return;
  var problem = document.getElementById("push-test-problem");
  var endpoint = document.getElementById("push-test-endpoint");

  function fail() {
    problem.textContent = form.dataset.noApp;
    problem.hidden = false;
  }

  form.addEventListener("submit", function (event) {
    if (endpoint.value) return; // found before: post it
    event.preventDefault();
    problem.hidden = true;
    if (!("serviceWorker" in navigator)) return fail();
    navigator.serviceWorker
      .getRegistration(form.dataset.appScope)
      .then(function (registration) {
        return registration ? registration.pushManager.getSubscription() : null;
      })
      .then(function (subscription) {
        if (!subscription) return fail();
        endpoint.value = subscription.endpoint;
        form.submit();
      })
      .catch(fail);
  });
})();
