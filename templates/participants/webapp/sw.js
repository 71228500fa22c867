{% load i18n static %}// The Burgernet web app's service worker (scope /app/): shows pushes (each message once),
// opens them and reports that they were opened, and keeps the push subscription when the
// browser renews it.
"use strict";

importScripts("{% static 'webapp/device.js' %}");

var VAPID_KEY = "{{ vapid_public_key|escapejs }}";
var SUBSCRIBE_URL = "{{ urls.subscribe|escapejs }}";
var OPENED_URL = "{{ urls.opened|escapejs }}";
var APP_URL = "{% url 'participants:webapp' as app_url %}{{ app_url|escapejs }}";
var DEFAULT_TITLE = "Burgernet";
var DEFAULT_BODY = "{% filter escapejs %}{% translate 'Er is een nieuw bericht van Burgernet.' %}{% endfilter %}";
var ICON = "{% static 'webapp/icon-192.png' %}";
var BADGE = "{% static 'webapp/badge-96.png' %}";

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

function readPayload(event) {
  if (!event.data) {
    return {};
  }
  try {
    var data = event.data.json();
    return data && typeof data === "object" ? data : {};
  } catch (error) {
    return { body: event.data.text() };
  }
}

self.addEventListener("push", function (event) {
  var data = readPayload(event);
  var tag = data.tag || data.topic || "";
  var urgent = data.urgency === "high" || data.urgent === true;
  var options = {
    body: data.body || DEFAULT_BODY,
    icon: ICON,
    badge: BADGE,
    lang: data.lang || "",
    // Repeating a message (an update) replaces the notification instead of adding one.
    tag: tag || undefined,
    renotify: Boolean(tag),
    // An alert of a time-critical action stays on screen until dismissed; its end message
    // or correction (follow_up) does not.
    requireInteraction: urgent && data.follow_up !== true,
    timestamp: data.timestamp || Date.now(),
    data: { url: data.url || APP_URL, token: data.token || data.opened_token || "" },
  };
  if (data.image) {
    options.image = data.image;
  }
  // A message this device showed before (the same message id, sent again after a worker
  // died) stays silent; an update is a message of its own and is shown.
  var first = BurgernetDevice.firstShowing(data.message).catch(function () {
    return true; // without storage, better twice than never
  });
  event.waitUntil(
    first.then(function (isFirst) {
      if (isFirst) {
        return self.registration.showNotification(data.title || DEFAULT_TITLE, options);
      }
    })
  );
});

// Only pages of this site are opened, whatever the payload says.
function ownUrl(url) {
  try {
    var resolved = new URL(url || APP_URL, self.location.origin);
    return resolved.origin === self.location.origin ? resolved.href : APP_URL;
  } catch (error) {
    return new URL(APP_URL, self.location.origin).href;
  }
}

function reportOpened(token) {
  if (!token) {
    return Promise.resolve();
  }
  return self
    .fetch(OPENED_URL, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: token }),
      credentials: "omit",
    })
    .catch(function () {
      // Counting the opening is not worth failing the click for.
    });
}

function openPage(url) {
  return self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (list) {
    for (var i = 0; i < list.length; i++) {
      if (list[i].url === url && "focus" in list[i]) {
        return list[i].focus();
      }
    }
    return self.clients.openWindow(url);
  });
}

self.addEventListener("notificationclick", function (event) {
  var data = event.notification.data || {};
  event.notification.close();
  event.waitUntil(Promise.all([openPage(ownUrl(data.url)), reportOpened(data.token)]));
});

// The browser renewed (or lost) the subscription: subscribe again and tell the server,
// which moves this device's row to the new endpoint.
self.addEventListener("pushsubscriptionchange", function (event) {
  var renewed = event.newSubscription
    ? Promise.resolve(event.newSubscription)
    : self.registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: BurgernetDevice.keyBytes(VAPID_KEY),
      });
  event.waitUntil(
    Promise.all([renewed, BurgernetDevice.load()]).then(function (results) {
      var subscription = results[0];
      var saved = results[1];
      var body = BurgernetDevice.subscriptionBody(subscription, saved.device, saved.language);
      return BurgernetDevice.postJSON(SUBSCRIBE_URL, body, saved.csrf).then(function (answer) {
        if (answer.status === 200 && answer.data.device) {
          saved.device = answer.data.device;
          saved.endpoint = subscription.endpoint;
          return BurgernetDevice.save(saved);
        }
      });
    })
  );
});
