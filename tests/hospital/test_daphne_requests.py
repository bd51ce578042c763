"""Under daphne, form bodies are parsed by Django alone (hospital/daphne_requests.py)."""

import socket

import pytest
from daphne import http_protocol

from hospital import daphne_requests
from tests.servers import DaphneServer


def post(port: int, content_type: bytes, body: bytes) -> bytes:
    """A raw HTTP POST to /, so nothing between the test and daphne tidies it up."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(
            b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            b"Content-Type: " + content_type + b"\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body
        )
        response = b""
        while chunk := s.recv(65536):
            response += chunk
    return response


@pytest.mark.django_db(transaction=True)
def test_a_malformed_upload_is_answered_by_django_not_by_twisteds_parser():
    with DaphneServer() as server:
        response = post(server.port, b"multipart/form-data; boundary=zzz", b"no parts here")
    status, _, body = response.partition(b"\r\n\r\n")
    # Twisted's own parse would have answered a bare "400 Bad Request" and hung up; the
    # request now reaches Django, whose CSRF check refuses it with the app's 403 page.
    assert status.startswith(b"HTTP/1.1 403"), status
    assert b"<html" in body.lower()


def test_daphne_builds_requests_that_leave_form_bodies_alone():
    assert daphne_requests.install()
    assert http_protocol.WebRequest is daphne_requests.FormBlindWebRequest
