"""The template's socket protocol (`worker.template.serve`) without processes: how it ends."""

from __future__ import annotations

import os
import socket

from worker.template import serve


def test_a_supervisor_gone_with_the_ready_unread_ends_the_template_quietly() -> None:
    template_end, supervisor_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with template_end:
        template_end.send(b"unread")  # closing with it pending resets the template's end
        supervisor_end.close()
        assert serve(template_end, os.getpid()) == 0  # was ConnectionResetError


def test_a_closed_socket_ends_the_template() -> None:
    template_end, supervisor_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with template_end:
        supervisor_end.shutdown(socket.SHUT_WR)
        assert serve(template_end, os.getpid()) == 0
