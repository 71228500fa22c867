// The web app's page: switch alerts on and off, send a test notification, and report the
// device's area. The browser's position is asked once each time the app is opened (and
// again when it comes back after half an hour); it is turned into a geohash cell of about
// 5 km right here, and only that cell is sent to the server.
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
        if (answer.status !== 404) {
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
