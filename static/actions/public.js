// The citizens' action page: the map of the area, the share button and focus after a tip.
// Everything here is an enhancement; the page says the same without it.
(function () {
  "use strict";

  // After sending a tip, start at the thank-you (the error summary is focused by forms.js).
  var sent = document.getElementById("tip-sent");
  if (sent) {
    sent.focus();
  }

  // The circle of the action on a map, never a marker on the exact point.
  var mapElement = document.getElementById("action-map");
  if (mapElement && window.L) {
    var lat = parseFloat(mapElement.dataset.lat);
    var lon = parseFloat(mapElement.dataset.lon);
    var radius = parseFloat(mapElement.dataset.radius);
    if (isFinite(lat) && isFinite(lon) && isFinite(radius)) {
      mapElement.hidden = false;
      var map = L.map(mapElement, {
        scrollWheelZoom: false,
        // One finger scrolls the page on a phone; the map moves with two.
        dragging: !L.Browser.mobile,
        attributionControl: true,
      });
      map.attributionControl.setPrefix(false);
      L.tileLayer(mapElement.dataset.tiles, {
        attribution: mapElement.dataset.attribution || "",
        maxZoom: 18,
      }).addTo(map);
      // The view first: a circle can only measure itself on a map that has one.
      map.fitBounds(L.latLng(lat, lon).toBounds(radius * 2), { padding: [16, 16] });
      L.circle([lat, lon], {
        radius: radius,
        color: "#154273",
        weight: 3,
        fillColor: "#154273",
        fillOpacity: 0.15,
        interactive: false,
      }).addTo(map);
    }
  }

  // The phone's own share sheet, where the browser has one (WhatsApp link otherwise).
  var share = document.getElementById("share-button");
  if (share && navigator.share) {
    share.hidden = false;
    share.addEventListener("click", function () {
      navigator
        .share({ title: share.dataset.title, text: share.dataset.text, url: share.dataset.url })
        .catch(function () {
          // Closing the share sheet is not an error worth showing.
        });
    });
  }
})();
