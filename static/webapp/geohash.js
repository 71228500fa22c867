// Geohash cells, computed on the phone: only the cell leaves it, never the coordinates.
// The same algorithm as apps/participants/geohash.py (tests compare the two).
(function (root) {
  "use strict";

  var ALPHABET = "0123456789bcdefghjkmnpqrstuvwxyz";

  function encode(lat, lon, precision) {
    if (!(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180)) {
      throw new RangeError("latitude or longitude out of range");
    }
    var latRange = [-90, 90];
    var lonRange = [-180, 180];
    var hash = "";
    var bits = 0;
    var value = 0;
    var even = true; // even bits are longitude
    while (hash.length < precision) {
      var range = even ? lonRange : latRange;
      var coordinate = even ? lon : lat;
      var middle = (range[0] + range[1]) / 2;
      value = value * 2;
      if (coordinate >= middle) {
        value += 1;
        range[0] = middle;
      } else {
        range[1] = middle;
      }
      even = !even;
      bits += 1;
      if (bits === 5) {
        hash += ALPHABET.charAt(value);
        bits = 0;
        value = 0;
      }
    }
    return hash;
  }

  var api = { encode: encode, ALPHABET: ALPHABET };
  if (typeof module !== "undefined" && module.exports) {
    module.exports = api;
  } else {
    root.BurgernetGeohash = api;
  }
})(typeof self !== "undefined" ? self : this);
