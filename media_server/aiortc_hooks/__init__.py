"""Every private aiortc/aioice name the SFU relies on, and nothing else.

aiortc==1.16.0 is pinned exactly because of this package. `inbound` holds the
receive side (frame tap, jitter buffers, PLI/NACK, RTX routing, counters),
`outbound` the send side (packer, keyframe hook, sender retirement), `srtp` the
raw path's protect and unprotect calls, `ice` the host-candidate override;
`checks.check_hooks()` runs at node start and in a unit test so an upgrade that
renames any of these fails loudly instead of silently decoding (or dropping) media.
The submodules import nothing of each other but `checks`, which reads the names of
all of them.
"""
