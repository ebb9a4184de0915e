# EMIS census server. Build: docker build -t emis .
# Run: docker run -p 8000:8000 -e EMIS_DATABASE_URL=... -e EMIS_SECRET_KEY=... emis
# (make a key with: python -c "import secrets; print(secrets.token_urlsafe(48))"; the server
# refuses to start without one)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    EMIS_DATA_DIR=/var/lib/emis

# Pango and fonts for the diagnosis report's PDF (WeasyPrint); nothing is fetched at run time.
RUN apt-get update && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system emis && useradd --system --gid emis --home-dir /app --shell /usr/sbin/nologin emis \
    && mkdir -p /var/lib/emis && chown emis:emis /var/lib/emis

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY sync_client ./sync_client
COPY migrations ./migrations
RUN pip install .

USER emis
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2).status == 200 else 1)"

# Apply migrations, then serve (on PostgreSQL, raise --workers to the number of cores).
CMD ["sh", "-c", "emis db upgrade && exec emis serve --host 0.0.0.0 --port 8000 --workers ${EMIS_WORKERS:-1}"]
