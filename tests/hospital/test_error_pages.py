"""The error page a server fault shows: the product's own, rendered with nothing to lean on."""

from django.template.loader import render_to_string
from django.test import RequestFactory
from django.views.defaults import server_error


def test_the_500_page_is_the_products_own_and_needs_no_request_nor_database():
    # No `db` fixture: any database access here fails the test, as it would fail the page
    # when the fault was the database itself.
    response = server_error(RequestFactory().get("/"))
    html = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in html
    assert "css/app.css" in html
    assert "OPD Queue" in html
    assert render_to_string("500.html") == html
