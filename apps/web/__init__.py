"""Web plumbing under every app: what a request says about its client (client.py) and
rate limits in the cache (ratelimit.py). Imports no other app; the domain apps and the
project package stand on it."""
