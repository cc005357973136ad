"""CSRF protection is on: a form post without the token is refused with a translated 400."""


def test_post_without_csrf_token_is_refused(client):
    response = client.post("/language/en", data={"next": "/"}, csrf=False)
    assert response.status_code == 400
    assert "Please reload the page" in response.get_data(as_text=True) or "tải lại trang" in response.get_data(
        as_text=True
    )


def test_post_with_csrf_token_is_accepted(client):
    response = client.post("/language/en", data={"next": "/"})
    assert response.status_code == 302
