"""WSGI entry point: ``waitress-serve app:server`` or ``python app.py`` (development)."""
from dashboard.web.factory import create_app, start

app = start(create_app())
server = app.server

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8050)
