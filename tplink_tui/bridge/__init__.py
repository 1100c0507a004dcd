"""``tplink-tui bridge``: the shared monitor served to scripts and home automation.

One process polls the saved devices once and serves the old web app's API, a REST
API with a phone page, Prometheus metrics and an MQTT bridge (with Home Assistant
discovery) from the same snapshots. ``hub`` is the core; each front end is a module.
"""
