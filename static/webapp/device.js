// What the page and the service worker share: this device's state in IndexedDB (its ref,
// the endpoint the server knows and the CSRF token for the worker), key conversion and
// JSON requests. Loaded by app.js's page and by the worker (importScripts).
(function (root) {
  "use strict";

  var DB_NAME = "burgernet";
  var STORE = "device";
  var KEY = "current";

  function open() {
    return new Promise(function (resolve, reject) {
      var request = root.indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () {
        request.result.createObjectStore(STORE);
      };
      request.onsuccess = function () {
        resolve(request.result);
      };
      request.onerror = function () {
        reject(request.error);
      };
    });
  }

  function transact(mode, action) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var request = action(tx.objectStore(STORE));
        tx.oncomplete = function () {
          db.close();
          resolve(request.result);
        };
        tx.onerror = tx.onabort = function () {
          db.close();
          reject(tx.error);
        };
      });
    });
  }

  // { device: ref, endpoint: the endpoint the server has, csrf: token, reportedAt: ms }
  function load() {
    return transact("readonly", function (store) {
      return store.get(KEY);
    }).then(function (value) {
      return value || {};
    });
  }

  function save(state) {
    return transact("readwrite", function (store) {
      return store.put(state, KEY);
    });
  }

  function clear() {
    return transact("readwrite", function (store) {
      return store.delete(KEY);
    });
  }

  // The ids of the last messages this device showed, newest last: only ids, nothing else.
  var SHOWN_KEY = "shown";
  var SHOWN_KEEP = 200;

  // Resolves true the first time a message id is asked about, false after that. A push
  // can arrive twice (a worker that died after sending, before it wrote that down, is
  // repeated by the next one); the repeat must not ring the phone again.
  function firstShowing(messageId) {
    if (messageId === undefined || messageId === null || messageId === "") {
      return Promise.resolve(true);
    }
    var id = String(messageId);
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, "readwrite");
        var store = tx.objectStore(STORE);
        var first = true;
        var request = store.get(SHOWN_KEY);
        request.onsuccess = function () {
          var shown = Array.isArray(request.result) ? request.result : [];
          if (shown.indexOf(id) !== -1) {
            first = false;
            return;
          }
          shown.push(id);
          store.put(shown.slice(-SHOWN_KEEP), SHOWN_KEY);
        };
        tx.oncomplete = function () {
          db.close();
          resolve(first);
        };
        tx.onerror = tx.onabort = function () {
          db.close();
          reject(tx.error);
        };
      });
    });
  }

  // The VAPID key arrives as base64url; PushManager.subscribe wants the raw bytes.
  function keyBytes(base64url) {
    var base64 = (base64url + "===".slice((base64url.length + 3) % 4))
      .replace(/-/g, "+")
      .replace(/_/g, "/");
    var raw = root.atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) {
      bytes[i] = raw.charCodeAt(i);
    }
    return bytes;
  }

  // POST a JSON object; resolves to {status, data} whatever the status, rejects only when
  // the network fails.
  function postJSON(url, body, csrfToken) {
    var headers = { "Content-Type": "application/json", Accept: "application/json" };
    if (csrfToken) {
      headers["X-CSRFToken"] = csrfToken;
    }
    return root
      .fetch(url, {
        method: "POST",
        headers: headers,
        body: JSON.stringify(body),
        credentials: "same-origin",
      })
      .then(function (response) {
        return response
          .json()
          .catch(function () {
            return {};
          })
          .then(function (data) {
            return { status: response.status, data: data };
          });
      });
  }

  // The subscription as the server wants it: PushSubscription.toJSON() plus our ref.
  function subscriptionBody(subscription, ref, language) {
    var json = subscription.toJSON();
    return { endpoint: json.endpoint, keys: json.keys, device: ref || "", language: language };
  }

  root.BurgernetDevice = {
    load: load,
    save: save,
    clear: clear,
    firstShowing: firstShowing,
    keyBytes: keyBytes,
    postJSON: postJSON,
    subscriptionBody: subscriptionBody,
  };
})(self);
