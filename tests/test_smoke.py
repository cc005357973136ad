"""The home page answers in Vietnamese by default."""


def test_home_page_is_vietnamese_by_default(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b'<html lang="vi">' in response.data
