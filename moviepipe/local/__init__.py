"""Run moviepipe on one machine: an embedded AWS (moto server) and local Lambda triggers."""
