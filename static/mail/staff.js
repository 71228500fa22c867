// The mail screens: the area form shows the fields of the chosen kind, a map to pick a
// circle, and the live number of recipients. Everything here is an enhancement: without it
// (or without map tiles) the form and the pages work as they are.
(function () {
  "use strict";

  var form = document.getElementById("area-form");
  if (!form) return;
  var kindInputs = form.querySelectorAll("input[name=kind]");
  var lat = document.getElementById("id_lat");
  var lon = document.getElementById("id_lon");
  var radius = document.getElementById("id_radius_m");
  var estimate = document.getElementById("area-estimate");
  var totalNode = document.getElementById("recipient-total");

  function kind() {
    var checked = form.querySelector("input[name=kind]:checked");
    return checked ? checked.value : "";
  }

  // Only the fields of the chosen kind are shown (all are shown without this script).
  function showFields() {
    var k = kind();
    form.querySelectorAll("[data-area-kinds]").forEach(function (node) {
      node.hidden = node.dataset.areaKinds.split(" ").indexOf(k) < 0;
    });
  }
  kindInputs.forEach(function (input) {
    input.addEventListener("change", function () { showFields(); scheduleCount(); });
  });
  showFields();

  // The map: the chosen areas, and a click picks the centre of a new circle.
  var mapNode = document.getElementById("area-map");
  var map = null, marker = null, circle = null;
  function point() {
    var a = parseFloat(lat.value), b = parseFloat(lon.value);
    return isFinite(a) && isFinite(b) ? [a, b] : null;
  }
  function drawCircle(fit) {
    if (!map) return;
    var pt = point();
    if (!pt) return;
    var r = parseFloat(radius.value) || 0;
    if (!marker) {
      marker = L.marker(pt).addTo(map);
      circle = L.circle(pt, { radius: r, color: "#b3261e" }).addTo(map);
    }
    marker.setLatLng(pt);
    circle.setLatLng(pt);
    circle.setRadius(r);
    if (fit) map.fitBounds(circle.getBounds());
  }
  if (mapNode && window.L) {
    var center = mapNode.dataset.center.split(",").map(parseFloat);
    map = L.map(mapNode).setView(center, parseInt(mapNode.dataset.zoom, 10));
    if (mapNode.dataset.tiles) {
      L.tileLayer(mapNode.dataset.tiles, { maxZoom: 19, attribution: "&copy; OpenStreetMap" }).addTo(map);
    }
    var areasNode = document.getElementById("map-areas");
    var shown = [];
    (areasNode ? JSON.parse(areasNode.textContent) : []).forEach(function (area) {
      if (area.lat === null || area.lon === null) return;
      var layer = area.kind === "circle"
        ? L.circle([area.lat, area.lon], { radius: area.radius_m })
        : L.circleMarker([area.lat, area.lon], { radius: 7 });
      layer.bindTooltip(area.label).addTo(map);
      shown.push(layer);
    });
    if (shown.length) map.fitBounds(L.featureGroup(shown).getBounds().pad(0.3), { maxZoom: 15 });
    map.on("click", function (e) {
      var circleInput = form.querySelector("input[name=kind][value=circle]");
      if (circleInput && !circleInput.checked) { circleInput.checked = true; showFields(); }
      lat.value = e.latlng.lat.toFixed(5);
      lon.value = e.latlng.lng.toFixed(5);
      if (!radius.value) radius.value = 300;
      drawCircle(false);
      scheduleCount();
    });
  }
  [lat, lon].forEach(function (input) {
    input.addEventListener("change", function () { drawCircle(true); scheduleCount(); });
  });
  radius.addEventListener("input", function () { drawCircle(false); scheduleCount(); });
  form.querySelectorAll("input[type=text], input[type=number], select").forEach(function (input) {
    input.addEventListener("input", scheduleCount);
    input.addEventListener("change", scheduleCount);
  });

  // The count: asked again 400 ms after the last change, for the area as filled in so far.
  var timer = null, asked = 0;
  function scheduleCount() {
    window.clearTimeout(timer);
    timer = window.setTimeout(askCount, 400);
  }
  function askCount() {
    if (!totalNode) return;
    var query = new URLSearchParams(new FormData(form));
    query.delete("csrfmiddlewaretoken");
    var mine = ++asked;
    fetch(totalNode.dataset.url + "?" + query.toString(), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (mine !== asked) return;  // an older answer arriving late
        if (data.errors) {
          estimate.textContent = Object.values(data.errors).flat().join(" ");
          return;
        }
        estimate.textContent = form.dataset.estimateText
          ? form.dataset.estimateText.replace("%(area)s", data.area).replace("%(with_area)s", data.with_area)
          : data.area + " / " + data.with_area;
      })
      .catch(function () {});
  }
})();
