"""The baseline: a bare Flask hello-world, served the same way as the app in the same run."""

from flask import Flask

app = Flask(__name__)


@app.get("/hello")
def hello():
    return "hello"
