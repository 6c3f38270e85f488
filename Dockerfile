FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
RUN useradd --create-home leadflow
COPY pyproject.toml README.md ./
COPY leadflow ./leadflow
COPY marketing ./marketing
COPY sales ./sales
COPY handoff ./handoff
RUN pip install .
COPY . .
# Static files are collected at build time; whitenoise serves them.
RUN DEBUG=false SECRET_KEY=build-only-$(python -c 'import secrets;print(secrets.token_hex(32))') \
    ALLOWED_HOSTS=build DATABASE_URL=postgres://build/build REDIS_URL=redis://build:6379/0 \
    python manage.py collectstatic --no-input
RUN mkdir -p /app/media && chown leadflow /app/media
USER leadflow
EXPOSE 8000
CMD ["gunicorn", "leadflow.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4", "--access-logfile", "-"]
