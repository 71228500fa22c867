// The web app's page: switch alerts on and off, send a test notification, report the
// device's area, and keep its fixed places (vaste plekken). The browser's position is asked
// once each time the app is opened (and again when it comes back after half an hour); it is
// turned into a geohash cell of about 5 km right here, and only that cell is sent to the
// server. So is "my current place" as a fixed place.
(function () {
  "use strict";

  var app = document.getElementById("webapp");
  if (!app) {
    return;
  }
  var Device = window.BurgernetDevice;
  var Geohash = window.BurgernetGeohash;
  var CELL_PRECISION = 5;
  var REFRESH_AFTER_MS = 30 * 60 * 1000;
  var STOP = {};

  var config = app.dataset;
  var csrfInput = app.querySelector("input[name=csrfmiddlewaretoken]");
  var csrf = csrfInput ? csrfInput.value : "";
  var language = document.documentElement.lang || "nl";
  var buttons = {
    subscribe: document.getElementById("webapp-subscribe"),
    test: document.getElementById("webapp-test"),
    unsubscribe: document.getElementById("webapp-unsubscribe"),
    install: document.getElementById("webapp-install"),
  };
  var stateLine = document.getElementById("webapp-state");
  var status = document.getElementById("webapp-status");
  var working = false;
  var areaAsked = false;
  var lastReportAt = 0;

  function text(key) {
    var element = document.querySelector('#webapp-texts [data-text="' + key + '"]');
    return element ? element.textContent.trim() : "";
  }

  function say(key, kind) {
    status.className = "webapp-status" + (kind ? " " + kind : "");
    status.textContent = text(key);
  }

  function showCode(ref) {
    var line = document.getElementById("webapp-code");
    document.getElementById("webapp-code-value").textContent = ref ? ref.slice(0, 8) : "";
    line.hidden = !ref;
  }

  function showState(on) {
    stateLine.textContent = text(on ? "on" : "off");
    places.section.hidden = !on;
    if (!on) {
      showCode("");
    }
    stateLine.classList.toggle("on", on);
    buttons.subscribe.hidden = on;
    buttons.test.hidden = !on;
    buttons.unsubscribe.hidden = !on;
    document.getElementById("webapp-steps").hidden = on;
  }

  function setWorking(flag) {
    working = flag;
    app.setAttribute("aria-busy", flag ? "true" : "false");
    [buttons.subscribe, buttons.test, buttons.unsubscribe].forEach(function (button) {
      button.setAttribute("aria-disabled", flag ? "true" : "false");
    });
  }

  // Runs `task` unless another is running; says "failed" when it fails unexpectedly.
  function guarded(task) {
    return function () {
      if (working) {
        return;
      }
      setWorking(true);
      say("working");
      Promise.resolve()
        .then(task)
        .catch(function (error) {
          if (error !== STOP) {
            say("failed", "error");
          }
        })
        .then(function () {
          setWorking(false);
        });
    };
  }

  function supported() {
    return (
      window.isSecureContext &&
      "serviceWorker" in navigator &&
      "PushManager" in window &&
      "Notification" in window &&
      "indexedDB" in window
    );
  }

  function registration() {
    return navigator.serviceWorker.ready;
  }

  function askPermission() {
    return new Promise(function (resolve) {
      // Older Safari takes a callback instead of returning a promise.
      var result = Notification.requestPermission(resolve);
      if (result && result.then) {
        result.then(resolve);
      }
    });
  }

  // Tells the server this subscription; resolves to the stored state {device, endpoint}.
  function sendSubscription(subscription, ref) {
    var body = Device.subscriptionBody(subscription, ref, language);
    return Device.postJSON(config.subscribeUrl, body, csrf).then(function (answer) {
      if (answer.status !== 200 || !answer.data.device) {
        throw new Error("subscribe " + answer.status);
      }
      var state = {
        device: answer.data.device,
        endpoint: subscription.endpoint,
        csrf: csrf,
        language: language,
      };
      return Device.save(state).then(function () {
        showCode(state.device);
        return state;
      });
    });
  }

  // The server knows this device unless we never told it, or the browser renewed the
  // subscription since.
  function ensureKnown(subscription) {
    return Device.load().then(function (saved) {
      if (saved.device && saved.endpoint === subscription.endpoint) {
        saved.csrf = csrf;
        showCode(saved.device);
        return Device.save(saved).then(function () {
          return saved;
        });
      }
      return sendSubscription(subscription, saved.device);
    });
  }

  // Posts to `url` for this device; when the server no longer knows it (its subscription
  // was removed), subscribes again once and repeats.
  function forDevice(url, extra) {
    function post(state) {
      var body = Object.assign({ device: state.device }, extra || {});
      return Device.postJSON(url, body, csrf);
    }
    return Device.load().then(function (saved) {
      return post(saved).then(function (answer) {
        if (answer.status !== 404 || answer.data.error !== "unknown_device") {
          return answer;
        }
        return registration()
          .then(function (reg) {
            return reg.pushManager.getSubscription();
          })
          .then(function (subscription) {
            if (!subscription) {
              return answer;
            }
            return sendSubscription(subscription, null).then(post);
          });
      });
    });
  }

  function currentCell() {
    return new Promise(function (resolve) {
      if (!("geolocation" in navigator)) {
        resolve(null);
        return;
      }
      navigator.geolocation.getCurrentPosition(
        function (position) {
          // The coordinates go no further than this line.
          resolve(
            Geohash.encode(position.coords.latitude, position.coords.longitude, CELL_PRECISION)
          );
        },
        function () {
          resolve(null);
        },
        { enableHighAccuracy: false, maximumAge: 10 * 60 * 1000, timeout: 30 * 1000 }
      );
    });
  }

  // Once per opening of the app: ask the position, send the cell.
  function reportArea(options) {
    if (areaAsked) {
      return Promise.resolve();
    }
    areaAsked = true;
    return currentCell().then(function (cell) {
      if (!cell) {
        say("no_location", "error");
        return;
      }
      return forDevice(config.cellUrl, { cell: cell }).then(function (answer) {
        if (answer.status === 200) {
          lastReportAt = Date.now();
          if (!(options && options.quiet)) {
            say("area_updated", "ok");
          }
        } else if (answer.status !== 429) {
          say("failed", "error");
        }
      });
    });
  }

  var enable = guarded(function () {
    return askPermission()
      .then(function (permission) {
        if (permission !== "granted") {
          say("denied", "error");
          throw STOP;
        }
        return registration();
      })
      .then(function (reg) {
        return reg.pushManager.getSubscription().then(function (existing) {
          return (
            existing ||
            reg.pushManager.subscribe({
              userVisibleOnly: true,
              applicationServerKey: Device.keyBytes(config.vapidKey),
            })
          );
        });
      })
      .then(function (subscription) {
        return Device.load().then(function (saved) {
          return sendSubscription(subscription, saved.device);
        });
      })
      .then(function () {
        showState(true);
        say("enabled", "ok");
        status.focus();
        areaAsked = false;
        loadPlaces();
        return reportArea({ quiet: true });
      });
  });

  var sendTest = guarded(function () {
    return forDevice(config.testUrl).then(function (answer) {
      if (answer.status === 202) {
        say("test_sent", "ok");
      } else if (answer.status === 429) {
        say("rate_limited", "error");
      } else {
        say("failed", "error");
      }
    });
  });

  var disable = guarded(function () {
    return registration()
      .then(function (reg) {
        return reg.pushManager.getSubscription();
      })
      .then(function (subscription) {
        return subscription ? subscription.unsubscribe() : true;
      })
      .then(forget)
      .then(function () {
        showState(false);
        say("disabled", "ok");
        buttons.subscribe.focus();
      });
  });

  // Deletes this device on the server and forgets it here.
  function forget() {
    return Device.load().then(function (saved) {
      var done = saved.device
        ? Device.postJSON(config.unsubscribeUrl, { device: saved.device }, csrf)
        : Promise.resolve();
      return done.then(function () {
        return Device.clear();
      });
    });
  }

  function start() {
    if (!supported()) {
      buttons.subscribe.hidden = true;
      say("unsupported", "error");
      return;
    }
    if (!config.vapidKey) {
      buttons.subscribe.hidden = true;
      say("not_configured", "error");
      return;
    }
    buttons.subscribe.addEventListener("click", enable);
    buttons.test.addEventListener("click", sendTest);
    buttons.unsubscribe.addEventListener("click", disable);
    places.form.addEventListener("submit", function (event) {
      event.preventDefault();
      addByPostcode();
    });
    places.here.addEventListener("click", addHere);
    navigator.serviceWorker
      .register(config.workerUrl, { scope: config.scope })
      .then(registration)
      .then(function (reg) {
        return reg.pushManager.getSubscription();
      })
      .then(function (subscription) {
        if (subscription && Notification.permission === "granted") {
          showState(true);
          return ensureKnown(subscription).then(function () {
            loadPlaces();
            return reportArea();
          });
        }
        showState(false);
        if (Notification.permission === "denied") {
          say("denied", "error");
        }
        // The browser dropped its subscription: the server should not keep the device.
        return forget();
      })
      .catch(function () {
        say("failed", "error");
      });

    document.addEventListener("visibilitychange", function () {
      var stale = Date.now() - lastReportAt > REFRESH_AFTER_MS;
      if (document.visibilityState === "visible" && lastReportAt && stale) {
        areaAsked = false;
        reportArea({ quiet: true });
      }
    });
  }

  // --- fixed places (vaste plekken) -------------------------------------------------------

  var places = {
    section: document.getElementById("webapp-places"),
    list: document.getElementById("webapp-places-list"),
    empty: document.getElementById("webapp-places-empty"),
    status: document.getElementById("webapp-places-status"),
    form: document.getElementById("webapp-place-form"),
    postcode: document.getElementById("webapp-place-postcode"),
    label: document.getElementById("webapp-place-label"),
    add: document.getElementById("webapp-place-add"),
    here: document.getElementById("webapp-place-here"),
    heading: document.getElementById("webapp-places-heading"),
    busy: false,
  };
  var POSTCODE_ERRORS = ["invalid_postcode", "unknown_postcode", "missing_field", "invalid_place"];

  // Says a text of the page (by key) or a message the server wrote (already in Dutch).
  function placesSay(message, kind, isKey) {
    places.status.className = "webapp-status" + (kind ? " " + kind : "");
    places.status.textContent = isKey ? text(message) : message;
  }

  function renderPlaces(list) {
    places.list.textContent = "";
    list.forEach(function (place) {
      var item = document.createElement("li");
      var name = place.label || text("place_unnamed");
      var words = document.createElement("span");
      words.textContent = name + " (" + text("place_area") + " " + place.cell + ") ";
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "webapp-button secondary webapp-place-remove";
      remove.textContent = text("place_remove");
      remove.setAttribute("aria-label", text("place_remove") + ": " + name);
      remove.addEventListener("click", function () {
        removePlace(place.cell);
      });
      item.appendChild(words);
      item.appendChild(remove);
      places.list.appendChild(item);
    });
    places.empty.hidden = list.length > 0;
    places.list.hidden = list.length === 0;
  }

  // Runs a request about places unless one is running; `done(answer)` handles its answer.
  function placeRequest(url, body, done) {
    if (places.busy) {
      return Promise.resolve();
    }
    places.busy = true;
    places.section.setAttribute("aria-busy", "true");
    return forDevice(url, body)
      .then(function (answer) {
        if (answer.status === 429) {
          placesSay("rate_limited", "error", true);
        } else if (answer.status >= 400) {
          placesSay(answer.data.message || text("failed"), "error", false);
        } else {
          renderPlaces(answer.data.places || []);
        }
        return done ? done(answer) : undefined;
      })
      .catch(function () {
        placesSay("failed", "error", true);
      })
      .then(function () {
        places.busy = false;
        places.section.setAttribute("aria-busy", "false");
      });
  }

  function loadPlaces() {
    return placeRequest(config.placesUrl, {});
  }

  function added(answer) {
    var refused = answer.status >= 400 && answer.status !== 429;
    var byPostcode = POSTCODE_ERRORS.indexOf(answer.data.error) !== -1;
    places.postcode.setAttribute("aria-invalid", refused && byPostcode ? "true" : "false");
    var badLabel = answer.data.error === "invalid_label";
    places.label.setAttribute("aria-invalid", badLabel ? "true" : "false");
    if (answer.status === 201) {
      places.postcode.value = "";
      places.label.value = "";
      placesSay("place_added", "ok", true);
    }
    places.status.focus();
  }

  function addByPostcode() {
    var postcode = places.postcode.value.trim();
    if (!postcode) {
      places.postcode.setAttribute("aria-invalid", "true");
      placesSay("place_no_postcode", "error", true);
      places.postcode.focus();
      return;
    }
    placeRequest(
      config.placeAddUrl,
      { postcode: postcode, label: places.label.value.trim() },
      added
    );
  }

  // The phone's position becomes a cell right here, as for the live area.
  function addHere() {
    if (places.busy) {
      return;
    }
    placesSay("working", "", true);
    currentCell().then(function (cell) {
      if (!cell) {
        placesSay("place_no_location", "error", true);
        places.status.focus();
        return;
      }
      placeRequest(config.placeAddUrl, { cell: cell, label: places.label.value.trim() }, added);
    });
  }

  function removePlace(cell) {
    placeRequest(config.placeRemoveUrl, { cell: cell }, function (answer) {
      if (answer.status === 200) {
        placesSay("place_removed", "ok", true);
      }
      // The button is gone with its item: the status takes the focus.
      places.status.focus();
    });
  }

  var installPrompt = null;
  window.addEventListener("beforeinstallprompt", function (event) {
    event.preventDefault();
    installPrompt = event;
    buttons.install.hidden = false;
  });
  buttons.install.addEventListener("click", function () {
    if (!installPrompt) {
      return;
    }
    installPrompt.prompt();
    installPrompt.userChoice.then(function () {
      installPrompt = null;
      buttons.install.hidden = true;
    });
  });

  start();
})();
