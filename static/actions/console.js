// The operator console: live refresh of partials, the point-and-radius map, the reach.
// Everything here is an enhancement: without it the forms and pages work as they are.
(function () {
  "use strict";

  // Live partials: an element with data-refresh-url gets a fresh copy of its content.
  // The script asks with the ETag of the copy it has (the browser keeps nothing: these
  // answers are no-store), and leaves an unchanged partial as it is, so that a screen
  // reader does not read the live region again and nothing moves under the operator's eyes.
  document.querySelectorAll("[data-refresh-url]").forEach(function (box) {
    var seconds = parseFloat(box.dataset.refreshSeconds || "5");
    var shown = null;
    var etag = null;
    function refresh() {
      if (document.hidden) return;
      // Leave the panel alone while the operator is working in it (keyboard focus).
      if (box.contains(document.activeElement)) return;
      var headers = etag ? { "If-None-Match": etag } : {};
      fetch(box.dataset.refreshUrl, { credentials: "same-origin", cache: "no-store", headers: headers })
        .then(function (r) {
          if (!r.ok) return null; // 304 (unchanged) too
          etag = r.headers.get("ETag");
          return r.text();
        })
        .then(function (html) {
          if (html === null || html === shown) return;
          if (shown !== null || box.innerHTML.trim() !== html.trim()) box.innerHTML = html;
          shown = html;
        })
        .catch(function () {});
    }
    window.setInterval(refresh, seconds * 1000);
  });

  // Tiles from the configured URL; the map works without them (a click still places
  // the point). The attribution is the server's, for the tiles it configured.
  function tileLayer(map, node) {
    var url = node.dataset.tiles;
    if (!url || !window.L) return;
    L.tileLayer(url, { maxZoom: 19, attribution: node.dataset.attribution || "" }).addTo(map);
  }

  // Read-only map of an action (detail page).
  var actionMap = document.getElementById("action-map");
  if (actionMap && window.L) {
    var p = [parseFloat(actionMap.dataset.lat), parseFloat(actionMap.dataset.lon)];
    var m = L.map(actionMap).setView(p, 12);
    tileLayer(m, actionMap);
    L.circleMarker(p, { radius: 6 }).addTo(m);
    var c = L.circle(p, { radius: parseFloat(actionMap.dataset.radius) }).addTo(m);
    m.fitBounds(c.getBounds());
  }

  // The new-action form.
  var form = document.getElementById("action-form");
  if (!form) return;
  var kind = document.getElementById("id_kind");
  var urgent = document.getElementById("id_is_time_critical");
  var exercise = document.getElementById("id_is_exercise");
  var lat = document.getElementById("id_lat");
  var lon = document.getElementById("id_lon");
  var radius = document.getElementById("id_radius_m");
  var slider = document.getElementById("radius-slider");
  var defaultsNode = document.getElementById("time-critical-defaults");
  var defaults = defaultsNode ? JSON.parse(defaultsNode.textContent) : {};

  // The kind's default urgency, until the operator sets it by hand.
  var urgentTouched = false;
  urgent.addEventListener("change", function () { urgentTouched = true; scheduleReach(); });
  kind.addEventListener("change", function () {
    if (!urgentTouched && kind.value in defaults) urgent.checked = defaults[kind.value];
    scheduleReach();
  });
  function markExercise() { document.body.classList.toggle("exercise", exercise.checked); }
  exercise.addEventListener("change", function () { markExercise(); scheduleReach(); });
  markExercise();

  // Map: click sets the point, the circle follows the radius.
  var mapNode = document.getElementById("point-map");
  var map = null, marker = null, circle = null;
  function point() {
    var a = parseFloat(lat.value), b = parseFloat(lon.value);
    return isFinite(a) && isFinite(b) ? [a, b] : null;
  }
  function drawPoint(fit) {
    if (!map) return;
    var pt = point();
    var r = parseFloat(radius.value) || 0;
    if (!pt) return;
    if (!marker) { marker = L.marker(pt).addTo(map); circle = L.circle(pt, { radius: r }).addTo(map); }
    marker.setLatLng(pt);
    circle.setLatLng(pt);
    circle.setRadius(r);
    if (fit) map.fitBounds(circle.getBounds());
  }
  if (mapNode && window.L) {
    var center = mapNode.dataset.center.split(",").map(parseFloat);
    map = L.map(mapNode).setView(center, parseInt(mapNode.dataset.zoom, 10));
    tileLayer(map, mapNode);
    map.on("click", function (e) {
      var first = !point();
      lat.value = e.latlng.lat.toFixed(5);
      lon.value = e.latlng.lng.toFixed(5);
      // The first point: zoom in to the circle, which is too small to see from afar.
      drawPoint(first);
      scheduleReach();
    });
    drawPoint(true);
  }
  if (slider) {
    slider.hidden = false;
    slider.value = radius.value || 2000;
    slider.addEventListener("input", function () { radius.value = slider.value; drawPoint(false); scheduleReach(); });
  }
  radius.addEventListener("input", function () { if (slider) slider.value = radius.value; drawPoint(false); scheduleReach(); });
  [lat, lon].forEach(function (input) {
    input.addEventListener("change", function () { drawPoint(true); scheduleReach(); });
  });

  // Address search: the server places a Dutch postcode (with house number) or a street
  // address through its geocoder, and says how precise the point is. Its texts, and those
  // of this block, come from the page (data-msg-*), in the page's language.
  var search = document.getElementById("address-search");
  if (search) {
    search.hidden = false;
    var input = document.getElementById("address-input");
    var searchStatus = document.getElementById("address-status");
    var searched = 0;
    function say(text, isError) {
      searchStatus.textContent = text;
      searchStatus.classList.toggle("error", isError);
      if (isError) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    }
    function lookUp() {
      if (!input.value.trim()) { say(search.dataset.msgEmpty, true); input.focus(); return; }
      var mine = ++searched;
      say(search.dataset.msgBusy, false);
      search.setAttribute("aria-busy", "true");
      fetch(search.dataset.url + "?q=" + encodeURIComponent(input.value), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          if (mine !== searched) return;  // an older answer arriving late
          if (data.error) { say(data.error, true); return; }
          lat.value = data.lat.toFixed(5);
          lon.value = data.lon.toFixed(5);
          say(data.message, false);
          drawPoint(true);
          scheduleReach();
        })
        .catch(function () { if (mine === searched) say(search.dataset.msgFailed, true); })
        .then(function () { if (mine === searched) search.removeAttribute("aria-busy"); });
    }
    document.getElementById("address-button").addEventListener("click", lookUp);
    // Enter searches instead of submitting the action form around it.
    input.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); lookUp(); } });
  }

  // The reach: asked again 300 ms after the last change.
  var panel = document.getElementById("reach-panel");
  var table = document.getElementById("reach-table");
  var reachStatus = document.getElementById("reach-status");
  // Numbers and the total's text in the page's language (data-locale, data-total).
  var locale = panel.dataset.locale || document.documentElement.lang || undefined;
  function count(n) { return n.toLocaleString(locale); }
  var timer = null, asked = 0;
  function scheduleReach() {
    window.clearTimeout(timer);
    timer = window.setTimeout(askReach, 300);
  }
  function askReach() {
    var pt = point();
    if (!pt || !radius.value) return;
    var query = new URLSearchParams({
      lat: pt[0], lon: pt[1], radius_m: radius.value, kind: kind.value,
      time_critical: urgent.checked ? "on" : "", exercise: exercise.checked ? "on" : "",
    });
    var mine = ++asked;
    fetch(panel.dataset.url + "?" + query.toString(), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (mine !== asked) return;  // an older answer arriving late
        var body = table.querySelector("tbody");
        body.textContent = "";
        if (data.errors) {
          table.hidden = true;
          reachStatus.textContent = Object.values(data.errors).flat().join(" ");
          return;
        }
        data.channels.forEach(function (row) {
          var tr = document.createElement("tr");
          var a = document.createElement("td"); a.textContent = row.label;
          var b = document.createElement("td"); b.className = "num"; b.textContent = count(row.n);
          tr.append(a, b); body.append(tr);
        });
        table.hidden = false;
        reachStatus.textContent = panel.dataset.total.replace("%(n)s", count(data.total));
        // Another unit's region within the circle: said before saving (the text comes
        // translated from the server).
        var units = document.getElementById("reach-units");
        units.textContent = data.reaches_note || "";
        units.hidden = !data.reaches_note;
      })
      .catch(function () {});
  }
  scheduleReach();
})();
