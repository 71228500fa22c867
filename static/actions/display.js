// The display page refreshes itself: it asks the board's JSON every data-refresh seconds
// and shows what it says (the server's page without script refreshes by a meta refresh).
(function () {
  "use strict";
  var board = document.getElementById("board");
  var list = document.getElementById("items");
  if (!board || !list || !window.fetch) return;
  var url = board.dataset.jsonUrl;
  var seconds = Math.max(1, parseInt(board.dataset.refresh, 10) || 30);
  var etag = null;

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function show(items) {
    var nodes = [];
    items.forEach(function (item) {
      var article = element("article", "item");
      if (item.photo) {
        var img = element("img");
        img.src = item.photo;
        img.alt = board.dataset.photoAlt;
        article.appendChild(img);
      }
      var body = element("div");
      body.appendChild(element("p", "label", item.label));
      body.appendChild(element("h2", "", item.title));
      body.appendChild(element("p", "text", item.text));
      article.appendChild(body);
      nodes.push(article);
    });
    if (!nodes.length) nodes.push(element("p", "empty", board.dataset.empty));
    list.replaceChildren.apply(list, nodes);
  }

  function poll() {
    var headers = etag ? { "If-None-Match": etag } : {};
    fetch(url, { headers: headers, cache: "no-cache" })
      .then(function (response) {
        if (response.status === 200) {
          etag = response.headers.get("ETag");
          return response.json().then(function (data) { show(data.items); });
        }
      })
      .catch(function () { /* keep what is shown; try again at the next turn */ })
      .then(function () { window.setTimeout(poll, seconds * 1000); });
  }

  window.setTimeout(poll, seconds * 1000);
})();
