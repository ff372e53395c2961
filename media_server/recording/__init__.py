"""Recording without transcoding: `recorder` (one forwarder sink per publication, on the
event loop) and `writer` (the thread that muxes frames into one file per publication)."""
