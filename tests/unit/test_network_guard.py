"""The suite itself: sockets to anything but loopback are refused."""

import socket

import pytest
from pytest_socket import SocketConnectBlockedError


def test_connections_outside_loopback_are_blocked():
    # Given the suite's pytest-socket settings, when a test connects to a public address
    with pytest.raises(SocketConnectBlockedError), socket.create_connection(("93.184.216.34", 443), timeout=1):
        pass  # Then the connection is refused before any packet leaves


def test_loopback_connections_are_allowed():
    # Given a listener on 127.0.0.1, when a test connects to it, then it succeeds
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=1):
            pass
