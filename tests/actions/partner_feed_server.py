"""A local partner feed server for the tests (a threaded http.server on 127.0.0.1) and CAP
messages to serve from it."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BAARLE_HERTOG = (51.4430, 4.9270)  # the Belgian enclaves in Baarle-Nassau
NAMUR = (50.4674, 4.8720)  # ~100 km from the Dutch border


class FeedServer:
    """serve(path, body, status=200, headers={}); url(path); stop(). Records the paths asked."""

    def __init__(self):
        self.routes: dict[str, tuple[int, dict, bytes]] = {}
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                server.requests.append(self.path)
                status, headers, body = server.routes.get(self.path, (404, {}, b"not found"))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def serve(self, path: str, body: bytes, status: int = 200, headers: dict | None = None):
        self.routes[path] = (status, headers or {"Content-Type": "application/xml"}, body)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def cap(
    identifier: str,
    *,
    msg_type: str = "Alert",
    references: str = "",
    sent: str = "2026-12-04T18:00:00+01:00",
    status: str = "Actual",
    expires: str = "2099-01-01T00:00:00+01:00",
    headline: str = "vermiste persoon bij Baarle-Hertog",
    description: str = "Vermist sinds vanmiddag: man, 79 jaar, blauwe jas.",
    event: str = "missing person",
    area: str = "Baarle-Hertog",
    point: tuple[float, float] = BAARLE_HERTOG,
    radius_km: float = 3,
    polygon: str = "",
    image: str = "",
    sender: str = "alerts@politie.example.be",
) -> bytes:
    """A valid CAP 1.2 message of a Belgian partner (Dutch info), with a circle."""
    refs = f"<references>{references}</references>" if references else ""
    resource = (
        f"<resource><resourceDesc>foto</resourceDesc><mimeType>image/png</mimeType>"
        f"<uri>{image}</uri></resource>"
        if image
        else ""
    )
    shape = (
        f"<polygon>{polygon}</polygon>"
        if polygon
        else f"<circle>{point[0]},{point[1]} {radius_km}</circle>"
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier>
  <sender>{sender}</sender>
  <sent>{sent}</sent>
  <status>{status}</status>
  <msgType>{msg_type}</msgType>
  <scope>Public</scope>
  {refs}
  <info>
    <language>nl-BE</language>
    <category>Rescue</category>
    <event>{event}</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Likely</certainty>
    <expires>{expires}</expires>
    <headline>{headline}</headline>
    <description>{description}</description>
    <web>https://politie.example.be/vermist/1</web>
    {resource}
    <area><areaDesc>{area}</areaDesc>{shape}</area>
  </info>
</alert>""".encode()


def atom(*cap_urls: str, inline: bytes = b"") -> bytes:
    """An Atom index whose entries link to the CAP messages at `cap_urls`."""
    entries = "".join(
        f"""<entry><id>urn:test:{n}</id><title>melding {n}</title>
        <updated>2026-12-04T17:00:00Z</updated>
        <link rel="alternate" type="application/cap+xml" href="{url}"/></entry>"""
        for n, url in enumerate(cap_urls)
    )
    if inline:
        body = inline.split(b"?>", 1)[-1].decode()
        entries += f"""<entry><id>urn:test:inline</id><title>inline</title>
        <updated>2026-12-04T17:00:00Z</updated>
        <content type="application/cap+xml">{body}</content></entry>"""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>urn:test:feed</id><title>Partner</title><updated>2026-12-04T17:00:00Z</updated>
  {entries}
</feed>""".encode()
