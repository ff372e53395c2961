"""SRTP at the raw path's rate: pylibsrtp's sessions, called without their per-call overhead.

pylibsrtp's `Session.protect`/`unprotect` type-check and allocate a length cell on every
call, a measurable share of the SFU's per-packet work (every ingress packet is unprotected
once, every forwarded packet protected once per subscriber). These call libsrtp on the
session's own handle and buffer with one length cell kept: same bytes, same errors
(`pylibsrtp.Error`). Sharing the session's buffer is safe: each call copies its result
out before returning, on the one event loop thread. RTCP (about one packet a second per
stream) goes through the session's own methods.
"""

from __future__ import annotations

from typing import Any

import pylibsrtp
from aiortc import RTCDtlsTransport, RTCPeerConnection
from pylibsrtp import ERRORS as SRTP_ERRORS
from pylibsrtp import SRTP_MAX_TRAILER_LEN
from pylibsrtp._binding import ffi as _srtp_ffi
from pylibsrtp._binding import lib as _srtp_lib

SESSION_HANDLE = "_srtp"
SESSION_CDATA = "_cdata"
SESSION_BUFFER = "_buffer"
TRANSPORT_SETUP_SRTP = "_setup_srtp"
TRANSPORT_RX_SRTP = "_rx_srtp"
FAST_UNPROTECT = "_mentorlive_fast_unprotect"


class _SessionCall:
    """One libsrtp function over one pylibsrtp session's handle and buffer."""

    def __init__(self, session: pylibsrtp.Session, function: Any, trailer: int) -> None:
        self._session = session  # owns the handle: libsrtp frees it when the session goes
        self._function = function
        self._handle = getattr(session, SESSION_HANDLE)[0]
        self._cdata = getattr(session, SESSION_CDATA)
        self._buffer = getattr(session, SESSION_BUFFER)
        self._room = len(self._cdata) - trailer
        self._length = _srtp_ffi.new("int *")

    def __call__(self, data: bytes) -> bytes:
        size = len(data)
        if size > self._room:
            raise ValueError("packet is too long")
        buffer, length = self._buffer, self._length
        buffer[0:size] = data
        length[0] = size
        status = self._function(self._handle, self._cdata, length)
        if status:
            raise pylibsrtp.Error(SRTP_ERRORS[status])
        return buffer[0 : length[0]]  # type: ignore[no-any-return]  # a cffi buffer's slice is bytes


class SrtpProtector:
    """`protect(plain)` with a transport's outbound SRTP session."""

    def __init__(self, session: pylibsrtp.Session) -> None:
        self.protect = _SessionCall(session, _srtp_lib.srtp_protect, SRTP_MAX_TRAILER_LEN)


class SrtpUnprotector:
    """Stands in for a transport's inbound pylibsrtp session: the same two methods aiortc calls."""

    def __init__(self, session: pylibsrtp.Session) -> None:
        self.unprotect = _SessionCall(session, _srtp_lib.srtp_unprotect, 0)
        self.unprotect_rtcp = session.unprotect_rtcp


def fast_unprotect(pc: RTCPeerConnection) -> None:
    """Every DTLS transport of `pc` unprotects RTP through `SrtpUnprotector` once its keys are
    set (now, if they already are)."""
    for transceiver in pc.getTransceivers():
        transport = transceiver.receiver.transport
        if getattr(transport, FAST_UNPROTECT, False):
            continue
        setattr(transport, FAST_UNPROTECT, True)
        _wrap_inbound_session(transport)
        original = getattr(transport, TRANSPORT_SETUP_SRTP)

        def setup(_original: Any = original, _transport: RTCDtlsTransport = transport) -> None:
            _original()
            _wrap_inbound_session(_transport)

        setattr(transport, TRANSPORT_SETUP_SRTP, setup)


def _wrap_inbound_session(transport: RTCDtlsTransport) -> None:
    session = getattr(transport, TRANSPORT_RX_SRTP, None)
    if isinstance(session, pylibsrtp.Session):
        setattr(transport, TRANSPORT_RX_SRTP, SrtpUnprotector(session))
