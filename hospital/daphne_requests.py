"""Daphne's HTTP requests, without Twisted's parse of form bodies.

Twisted's Request parses every POST body that is a form (urlencoded or multipart) into
`request.args`, after working out the Content-Type with the `email` package. Daphne
never reads `request.args`: it hands the raw body to the ASGI application, and Django
parses it (again) itself. In the kiosk rush that unused parse was 7-8 % of the server
process's samples under `py-spy record --gil` (bench/tokens.py; alternate runs with and
without it differed by a few per cent at most, docs/PERFORMANCE.md), and for a multipart
upload it would hold a second parsed copy of the body in memory.

Twisted has a switch for it (`Request(parsePOSTFormSubmission=False)`; Twisted 26.10 is
pinned in requirements.txt). Daphne does not pass it, so the request class that daphne's
protocol factory builds is replaced by one that does. Django still refuses a malformed
body with a 400.
"""

import inspect

from daphne import http_protocol
from twisted.web import http


class FormBlindWebRequest(http_protocol.WebRequest):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("parsePOSTFormSubmission", False)
        super().__init__(*args, **kwargs)


def install() -> bool:
    """Make daphne build FormBlindWebRequests (its HTTPFactory looks the class up in
    its module for every connection). Does nothing, and says so, on a Twisted without
    the switch."""
    if "parsePOSTFormSubmission" not in inspect.signature(http.Request.__init__).parameters:
        return False
    http_protocol.WebRequest = FormBlindWebRequest
    return True
