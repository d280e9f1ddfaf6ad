"""The review web app: grade unknown pictures without harm (blurred, greyscale, logged reveals)."""
