# The production image: the same code as `make run`, on PostgreSQL and Redis.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 STATIC_MANIFEST=1 VAR_DIR=/var/lib/openbill
WORKDIR /app
RUN useradd --create-home --uid 1000 openbill && mkdir -p /var/lib/openbill \
    && chown openbill /var/lib/openbill

COPY pyproject.toml README.md ./
COPY config ./config
COPY accounts ./accounts
COPY services ./services
COPY billing ./billing
COPY payments ./payments
COPY cart ./cart
COPY support ./support
RUN pip install --no-cache-dir .
COPY . .
RUN SECRET_KEY=collectstatic DATABASE_URL=postgres://build/build \
    python manage.py collectstatic --noinput

USER openbill
EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
