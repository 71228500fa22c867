"""Web plumbing under every app: what a request says about its client (client.py), rate
limits in the cache (ratelimit.py) and the gate every uploaded photo passes (photos.py).
Imports no other app; the domain apps and the project package stand on it."""
