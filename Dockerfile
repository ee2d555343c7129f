# One image for every Dagster process of docker-compose: the code server, the webserver, the daemon and
# the run containers that DockerRunLauncher starts. The webserver and daemon do not import the project
# (they load it over gRPC); sharing the image keeps Dagster versions identical everywhere.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DAGSTER_HOME=/opt/dagster/home

WORKDIR /opt/dagster/app

# Tesseract's language files for MuPDF's built-in OCR of scanned PDF pages (ProcessingResource.ocr_tessdata).
RUN apt-get update \
    && apt-get install -y --no-install-recommends tesseract-ocr-eng tesseract-ocr-chi-sim \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, so a code change does not reinstall them (README.md is optional metadata).
COPY pyproject.toml README.m[d] ./
RUN test -f README.md || touch README.md \
    && mkdir -p pin_assets resources sensors \
    && touch pin_assets/__init__.py resources/__init__.py sensors/__init__.py \
    && pip install ".[docker]" \
    && pip uninstall -y pin-factory

COPY pin_assets ./pin_assets
COPY resources ./resources
COPY sensors ./sensors
RUN pip install --no-deps . \
    && mkdir -p "$DAGSTER_HOME"

COPY docker/dagster.yaml docker/workspace.yaml ${DAGSTER_HOME}/

EXPOSE 3000 4000
CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "pin_assets.definitions"]
