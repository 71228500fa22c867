"""Web plumbing under every app: what a request says about its client (client.py), rate
limits in the cache (ratelimit.py), the gate every uploaded photo passes (photos.py),
serving a checked image (images.py), reading signed link tokens (tokens.py), what forms
share (forms.py: the citizens' form base, service errors on a form, the error summary),
the map tiles (maps.py), the security headers (headers.py) and keeping link tokens out of
the logs (logging.py). Imports no other app; the domain apps and the project
package stand on it."""
